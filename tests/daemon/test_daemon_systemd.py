"""sd_notify from the running daemon: a datagram socket stands in for systemd's NOTIFY_SOCKET."""

from __future__ import annotations

import signal
import socket
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.daemon.stories import BAKERY
from tests.support.daemon import Setup, Watcher, environment
from tests.support.feeds import FeedSite


class NotifySocket:
    """Receives the daemon's datagrams in a thread; `messages` holds each one's fields."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._socket.bind(str(path))
        self._socket.settimeout(0.2)
        self._messages: list[list[str]] = []
        self._lock = threading.Lock()
        self._running = True
        self._thread = threading.Thread(target=self._receive, daemon=True)
        self._thread.start()

    def _receive(self) -> None:
        while self._running:
            try:
                data = self._socket.recv(4096)
            except TimeoutError:
                continue
            with self._lock:
                self._messages.append(data.decode().split("\n"))

    @property
    def messages(self) -> list[list[str]]:
        with self._lock:
            return list(self._messages)

    def firsts(self) -> list[str]:
        """The first field of every message, in order (READY=1, WATCHDOG=1, …)."""
        return [fields[0] for fields in self.messages]

    def close(self) -> None:
        self._running = False
        self._thread.join(2)
        self._socket.close()


@pytest.fixture
def notify_socket() -> Iterator[NotifySocket]:
    # AF_UNIX paths are limited to 107 bytes, which pytest's tmp_path can exceed.
    with tempfile.TemporaryDirectory(prefix="sdn-") as directory:
        listener = NotifySocket(Path(directory) / "notify")
        yield listener
        listener.close()


def test_the_daemon_tells_systemd_ready_watchdog_reloading_and_stopping(
    setup: Setup, site: FeedSite, notify_socket: NotifySocket
):
    setup.feed("wire", site.feed("/wire", "Example Wire", [BAKERY]))
    env = environment(NOTIFY_SOCKET=str(notify_socket.path), WATCHDOG_USEC="1000000")

    with Watcher(setup.write(), env=env) as daemon:
        daemon.expect(lambda: "READY=1" in notify_socket.firsts(), "READY=1")
        daemon.expect(lambda: notify_socket.firsts().count("WATCHDOG=1") >= 2, "two watchdog pings")
        daemon.send(signal.SIGHUP)
        daemon.expect(
            lambda: notify_socket.firsts().count("READY=1") >= 2, "READY=1 after the reload"
        )
        daemon.send(signal.SIGTERM)
        assert daemon.wait() == 0

    firsts = notify_socket.firsts()
    assert firsts[0] == "READY=1"
    reloading = firsts.index("RELOADING=1")
    assert "READY=1" in firsts[reloading + 1 :]
    reload_fields = notify_socket.messages[reloading]
    assert any(field.startswith("MONOTONIC_USEC=") for field in reload_fields)
    assert "STOPPING=1" in firsts[reloading:]
    # Nothing claims the service is ready or alive once it said it is stopping.
    assert not {"READY=1", "WATCHDOG=1"} & set(firsts[firsts.index("STOPPING=1") :])
    statuses = [f for message in notify_socket.messages for f in message if f.startswith("STATUS=")]
    assert any("1 feeds" in status for status in statuses)


def test_the_status_line_counts_silent_feeds(
    setup: Setup, site: FeedSite, notify_socket: NotifySocket
):
    setup.feed("wire", site.feed("/wire", "Example Wire", [BAKERY]), silent_after="2s")
    setup.poll["silence_check"] = "1s"
    env = environment(NOTIFY_SOCKET=str(notify_socket.path), WATCHDOG_USEC="1000000")

    def statuses() -> list[str]:
        return [f for message in notify_socket.messages for f in message if f.startswith("STATUS=")]

    with Watcher(setup.write(), env=env) as daemon:
        daemon.expect(
            lambda: any(status.endswith(", 1 silent feed") for status in statuses()),
            "the silent feed on the status line",
        )
        assert daemon.stop() == 0
