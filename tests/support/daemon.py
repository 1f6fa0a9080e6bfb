"""The real daemon as a subprocess (`python -m watcher.cli run --config …`) and its config.

    setup = Setup(tmp_path, rules=[RULES])
    setup.feeds.append({"name": "wire", "url": site.url("/wire")})
    setup.notifiers["mail"] = {"urls": [mailbox.url()]}
    setup.routes["medium"] = ["mail"]
    with Watcher(setup.write()) as daemon:
        daemon.wait_log("watcher running")
        ...
        assert daemon.stop() == 0

Each daemon runs in a process group of its own, so that its parser worker processes go down
with it when a test kills it or fails half way.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from tests.support.waiting import wait_for
from watcher.store import AlertRow, AlertStatus, FeedStatus, Store

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "rules"
T = TypeVar("T")

#: Fast clocks for tests: the dispatcher and the outbox look for work twice a second, feeds
#: are due every second, a failed delivery is retried after a second.
FAST_POLL = {
    "tick": 0.5,
    "interval": "1s",
    "min_interval": "1s",
    "parser_workers": 1,
}
FAST_ALERTS = {"tick": 0.5, "retry_base": "1s"}


def toml(document: Mapping[str, Any]) -> str:
    """A TOML document from plain values, tables (dicts) and arrays of tables (lists of dicts)."""
    lines: list[str] = []

    def value(item: Any) -> str:
        if isinstance(item, bool):
            return "true" if item else "false"
        if isinstance(item, int | float):
            return str(item)
        if isinstance(item, str | Path):
            return json.dumps(str(item))
        if isinstance(item, list | tuple):
            return "[" + ", ".join(value(v) for v in item) + "]"
        raise TypeError(f"no TOML form for {item!r}")

    def is_tables(item: Any) -> bool:
        return isinstance(item, list) and bool(item) and all(isinstance(v, dict) for v in item)

    def table(prefix: str, mapping: Mapping[str, Any]) -> None:
        for key, item in mapping.items():
            if not isinstance(item, dict) and not is_tables(item):
                lines.append(f"{key} = {value(item)}")
        for key, item in mapping.items():
            name = f"{prefix}.{key}" if prefix else key
            if isinstance(item, dict):
                lines.append(f"\n[{name}]")
                table(name, item)
            elif is_tables(item):
                for entry in item:
                    lines.append(f"\n[[{name}]]")
                    table(name, entry)

    table("", document)
    return "\n".join(lines).lstrip() + "\n"


@dataclass
class Setup:
    """Everything one daemon reads: a config file in `directory` naming a SQLite store there
    (or the `database` given)."""

    directory: Path
    rules: list[Path] = field(default_factory=lambda: [RULES])
    feeds: list[dict[str, Any]] = field(default_factory=list)
    notifiers: dict[str, dict[str, Any]] = field(default_factory=dict)
    routes: dict[str, list[str]] = field(default_factory=dict)
    poll: dict[str, Any] = field(default_factory=dict)
    alerts: dict[str, Any] = field(default_factory=dict)
    http: dict[str, Any] = field(default_factory=dict)
    #: Another store than the SQLite file in `directory` (a PostgreSQL URL).
    database: str | None = None

    @property
    def config_path(self) -> Path:
        return self.directory / "watcher.toml"

    @property
    def store_url(self) -> str:
        return self.database or f"sqlite:///{self.directory / 'watcher.db'}"

    def feed(self, name: str, url: str, **options: Any) -> None:
        self.feeds.append({"name": name, "url": url, "interval": "1s", **options})

    def document(self) -> dict[str, Any]:
        routes = {severity: [] for severity in ("info", "low", "medium", "high", "critical")}
        routes.update(self.routes)
        document: dict[str, Any] = {
            "store": {"url": self.store_url},
            "rules": {"paths": [str(p) for p in self.rules]},
            "http": {"deadline": "5s", **self.http},
            "poll": {**FAST_POLL, **self.poll},
            "alerts": {**FAST_ALERTS, **self.alerts},
            "routes": routes,
        }
        if self.notifiers:
            document["notifiers"] = self.notifiers
        if self.feeds:
            document["feeds"] = self.feeds
        return document

    def write(self) -> Path:
        self.config_path.write_text(toml(self.document()), encoding="utf-8")
        return self.config_path

    def store(self) -> Store:
        """The daemon's store, opened for reading beside it (once it is `running()`)."""
        return Store.open(self.store_url, migrate=False)

    def feed_status(self) -> dict[str, FeedStatus]:
        with self.store() as store:
            return {feed.name: feed for feed in store.feed_status()}

    def outbox(self, status: AlertStatus) -> list[AlertRow]:
        with self.store() as store:
            return store.alerts(status)


def environment(**extra: str) -> dict[str, str]:
    """This process's environment without anything systemd-related, plus `extra`."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "WATCHER_CONFIG"}
        and not key.startswith("WATCHER_")
    }
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


def cli(
    *args: str, env: Mapping[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run one `watcher` command to its end and capture what it printed."""
    return subprocess.run(
        [sys.executable, "-m", "watcher.cli", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=dict(env) if env is not None else environment(),
        timeout=timeout,
        check=False,
    )


class DaemonDied(AssertionError):
    pass


class Watcher:
    """`watcher run --config CONFIG [args]` as a subprocess, its stdout and stderr in files."""

    _counter = 0

    def __init__(self, config: Path, *args: str, env: Mapping[str, str] | None = None) -> None:
        Watcher._counter += 1
        stem = config.parent / f"daemon{Watcher._counter}"
        self.stdout_path = stem.with_suffix(".out")
        self.stderr_path = stem.with_suffix(".log")
        self._stdout = self.stdout_path.open("wb")
        self._stderr = self.stderr_path.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "watcher.cli", "run", "--config", str(config), *args],
            stdout=self._stdout,
            stderr=self._stderr,
            stdin=subprocess.DEVNULL,
            cwd=ROOT,
            env=dict(env) if env is not None else environment(),
            start_new_session=True,
        )

    @property
    def log(self) -> str:
        return self.stderr_path.read_text(encoding="utf-8", errors="replace")

    def alive(self) -> bool:
        return self.process.poll() is None

    def expect(self, predicate: Callable[[], T], what: str, within: float = 20.0) -> T:
        """Wait for `predicate` while the daemon runs; fail with its log when it dies or the
        deadline passes."""

        def check() -> T:
            value = predicate()
            if not value and not self.alive():
                raise DaemonDied(
                    f"the daemon exited ({self.process.returncode}) before: {what}\n{self.log}"
                )
            return value

        value = wait_for(check, within)
        if not value:
            raise AssertionError(f"within {within:g} s: {what}\n--- daemon log ---\n{self.log}")
        return value

    def wait_log(self, text: str, *, count: int = 1, within: float = 20.0) -> None:
        self.expect(lambda: self.log.count(text) >= count, f"log says {text!r} ×{count}", within)

    def running(self) -> Watcher:
        """Wait until the daemon says it runs: config, rules and store (migrated) are loaded."""
        self.wait_log("watcher running")
        return self

    def send(self, signum: signal.Signals) -> None:
        self.process.send_signal(signum)

    def wait(self, within: float = 30.0) -> int:
        """The exit code; fails the test when the daemon is still running after `within` s."""
        try:
            return self.process.wait(within)
        except subprocess.TimeoutExpired:
            raise AssertionError(
                f"the daemon did not exit within {within:g} s\n{self.log}"
            ) from None

    def stop(self, within: float = 30.0) -> int:
        """SIGTERM and the exit code."""
        if self.alive():
            self.send(signal.SIGTERM)
        return self.wait(within)

    def kill(self) -> None:
        """SIGKILL the daemon and everything it started (its process group)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def close(self) -> None:
        if self.alive():
            self.kill()
        else:
            # Its parser workers may outlive it for a moment; they are in its group.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
        self._stdout.close()
        self._stderr.close()

    def __enter__(self) -> Watcher:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def settle(daemon: Watcher, site_polls: Callable[[], int], polls: int = 1) -> None:
    """Let the daemon run `polls` more polls of one feed: time enough for anything it was
    about to do (a retry, a duplicate send) to have happened, without a fixed sleep."""
    start = site_polls()
    daemon.expect(lambda: site_polls() >= start + polls, f"{polls} more polls", within=20)
