"""Alert latency and daemon memory benchmark (issue 4 §6), against the real daemon.

The daemon runs as users run it: `python -m watcher.cli run --config FILE`, in its own process,
with a loopback feed server, a real SMTP server (aiosmtpd) and a webhook endpoint (apprise
`json://`) in this process.

1. Latency: one feed polled every second (`interval = "1s"`, `[poll] tick = "1s"`,
   `min_interval = "1s"`; everything else at its default). Items that a shipped rule matches
   are published one at a time, 5.6 to 6.6 s apart (apprise sends e-mails to one mailbox at
   most every 5.5 s), so each lands at a random moment of the poll cycle; for each, the time
   from the moment the server starts listing it to the moment its alert arrives at the SMTP
   server and at the webhook. Median and p95; target: under 2 s beyond the poll interval.
2. Memory: 1,000 feeds (30 entries, about 62 KB each), polled with the clock compressed: a
   10 s interval stands for 15 minutes, so each 10 s cycle is a quarter of an hour of a real
   deployment. Between cycles about 1 % of the feeds publish an item (a sliding window: the
   newest item in, the oldest out); the rest answer 304. The resident memory of the daemon and
   its parser workers is read from /proc at the end of every cycle; after 4 cycles (an hour)
   it must not grow any more.

    python benchmarks/bench_latency.py [--items 50] [--feeds 1000] [--cycles 8]

About 5 minutes for the latency part and 2 for the memory part (`--skip-latency`,
`--skip-memory` run one of them).
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import os
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.utils import format_datetime
from html import escape
from pathlib import Path

from aiosmtpd.controller import Controller
from benchconfig import config_head
from feedgen import HOOKS, window_xml
from feedserver import FeedServer, loopback_hosts, response
from proctree import PeakSampler, tree_rss

MB = 1024 * 1024
ITEM_TOKEN = re.compile(r"item-(\d+)")
RSS_HEADER = "Content-Type", "application/rss+xml; charset=utf-8"


# -- the receiving end --------------------------------------------------------------------------


@dataclass
class Arrivals:
    """When the alert for each item number arrived, per channel (first arrival counts)."""

    times: dict[str, dict[int, float]] = field(default_factory=lambda: {"smtp": {}, "webhook": {}})
    lock: threading.Lock = field(default_factory=threading.Lock)
    extra: int = 0  # alerts that arrived for an item a second time, or for no item

    def record(self, channel: str, text: str) -> None:
        now = time.monotonic()
        numbers = {int(n) for n in ITEM_TOKEN.findall(text)}
        with self.lock:
            for number in numbers:
                if number in self.times[channel]:
                    self.extra += 1
                else:
                    self.times[channel][number] = now
            if not numbers:
                self.extra += 1

    def arrived(self, number: int) -> bool:
        with self.lock:
            return all(number in times for times in self.times.values())


class Mailbox:
    """aiosmtpd handler: records the item numbers in each accepted message's subject."""

    def __init__(self, arrivals: Arrivals) -> None:
        self.arrivals = arrivals

    async def handle_DATA(self, server, session, envelope) -> str:
        message = message_from_bytes(envelope.content, policy=policy.default)
        self.arrivals.record("smtp", str(message["Subject"]))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# -- the sites the daemon polls -----------------------------------------------------------------


class LatencySite:
    """`/feed`: a feed whose items the benchmark publishes one by one; `/hook`: the webhook."""

    def __init__(self, arrivals: Arrivals) -> None:
        self.arrivals = arrivals
        self.items: list[str] = []
        self.requests = 0
        self._answer = b""
        self._etag = ""
        self._lock = threading.Lock()
        self.publish(None)

    def publish(self, number: int | None) -> None:
        """List item `number` (None: just the three old items the first poll marks seen)."""
        rng = random.Random(number)
        if number is None:
            items = [
                self._item(-n, "Archive note", "Nothing new happened here.") for n in (1, 2, 3)
            ]
        else:
            hook = HOOKS[number % 4]  # refugees, border security, sanctions, airstrikes
            title = f"Desk update item-{number}: {' '.join(rng.sample(WORDS, 5))}"
            items = [self._item(number, title, f"{hook} {' '.join(rng.sample(WORDS, 12))}.")]
        with self._lock:
            self.items = (items + self.items)[:30]
            body = _rss("Latency desk", "".join(self.items))
            self._etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
            self._answer = response(200, [RSS_HEADER, ("ETag", self._etag)], body)

    @staticmethod
    def _item(number: int, title: str, text: str) -> str:
        published = format_datetime(dt.datetime.now(dt.UTC))
        return (
            f"<item><title>{escape(title)}</title>"
            f"<link>https://desk.example.org/{number}</link><guid>desk-{number}</guid>"
            f"<pubDate>{published}</pubDate><description>{escape(text)}</description></item>"
        )

    def __call__(self, method: str, path: str, headers: dict[str, str], body: bytes) -> bytes:
        if path == "/hook" and method == "POST":
            self.arrivals.record("webhook", body.decode("utf-8", "replace"))
            return response(200)
        if path != "/feed":
            return response(404)
        with self._lock:
            self.requests += 1
            if headers.get("if-none-match") == self._etag:
                return response(304, [("ETag", self._etag)])
            return self._answer


WORDS = """ministers harbour railway budget talks river council envoy grain convoy bridge
festival museum tariff market drought election summit engineers villages""".split()


def _rss(title: str, items: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
        f"<title>{title}</title><link>https://desk.example.org/</link>{items}</channel></rss>"
    ).encode()


class WindowFeeds:
    """`/feeds/N` for N < `count`: sliding-window feeds (feedgen.window_xml), conditional GET;
    `step(n)` makes n random feeds publish one item each. Counts polls per feed and the
    alerts posted to `/hook`."""

    def __init__(self, count: int) -> None:
        self.alerts = 0
        self.newest = [29] * count
        self.polls = [0] * count
        self._answers = [self._build(feed) for feed in range(count)]
        self._lock = threading.Lock()
        self._rng = random.Random(4)

    def _build(self, feed: int) -> tuple[str, bytes]:
        etag = f'"{feed}-{self.newest[feed]}"'
        headers = [RSS_HEADER, ("ETag", etag)]
        return etag, response(200, headers, window_xml(feed, self.newest[feed]))

    def step(self, changes: int) -> None:
        for feed in self._rng.sample(range(len(self.newest)), changes):
            self.newest[feed] += 1
            answer = self._build(feed)
            with self._lock:
                self._answers[feed] = answer

    def cycles_done(self) -> int:
        """How many times every feed has been polled."""
        with self._lock:
            return min(self.polls)

    def __call__(self, method: str, path: str, headers: dict[str, str], body: bytes) -> bytes:
        if path == "/hook" and method == "POST":
            with self._lock:
                self.alerts += 1
            return response(200)
        parts = path.strip("/").split("/")
        if len(parts) != 2 or parts[0] != "feeds" or not parts[1].isdigit():
            return response(404)
        feed = int(parts[1])
        with self._lock:
            self.polls[feed] += 1
            etag, answer = self._answers[feed]
        if headers.get("if-none-match") == etag:
            return response(304, [("ETag", etag)])
        return answer


# -- the daemon ---------------------------------------------------------------------------------


def write_config(
    directory: Path, feeds: list[str], notifiers: dict[str, str], poll: dict[str, str]
) -> Path:
    lines = [
        *config_head(directory, poll),
        "[routes]",
        f"medium = {list(notifiers)!r}".replace("'", '"'),
        f"high = {list(notifiers)!r}".replace("'", '"'),
    ]
    for name, url in notifiers.items():
        lines += [f"[notifiers.{name}]", f'urls = ["{url}"]']
    for url in feeds:
        lines += ["[[feeds]]", f'name = "{url.rsplit("/", 1)[1]}"', f'url = "{url}"']
    path = directory / "watcher.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


class Daemon:
    """`watcher run` in its own process, its log in the temporary directory."""

    def __init__(self, config: Path) -> None:
        self.log = config.with_suffix(".log")
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "watcher.cli", "run", "--config", str(config)],
                stdout=subprocess.DEVNULL,
                stderr=log,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    def tail(self, lines: int = 15) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def wait_until(condition, timeout: float, daemon: Daemon) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        if daemon.process.poll() is not None:
            raise RuntimeError(f"the daemon exited ({daemon.process.returncode}):\n{daemon.tail()}")
        time.sleep(0.005)
    return False


# -- 1. latency ---------------------------------------------------------------------------------


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def latency(items: int, directory: Path) -> None:
    arrivals = Arrivals()
    site = LatencySite(arrivals)
    server = FeedServer(site).start()
    smtp_port = free_port()
    mailbox = Controller(Mailbox(arrivals), hostname="127.0.0.1", port=smtp_port)
    mailbox.start()
    notifiers = {
        "email": f"mailto://127.0.0.1:{smtp_port}?from=alerts@watcher.test&to=desk@example.test"
        "&mode=insecure",
        "webhook": server.url("/hook").replace("http://", "json://"),
    }
    poll = {"interval": '"1s"', "tick": '"1s"', "min_interval": '"1s"'}
    config = write_config(directory, [server.url("/feed")], notifiers, poll)
    daemon = Daemon(config)
    published: dict[int, float] = {}
    try:
        if not wait_until(lambda: site.requests >= 2, 60, daemon):
            raise RuntimeError(f"the daemon never polled the feed:\n{daemon.tail()}")
        rng = random.Random(11)
        print(f"latency: publishing {items} matching items one at a time (poll interval 1 s)")
        for number in range(items):
            # Apprise spaces e-mails to one mailbox at least 5.5 s apart (its per-plugin
            # throttle, kept on purpose: research/reliability.md §4.4); a gap longer than that
            # measures the pipeline, not the throttle. Its random length puts each item at a
            # random moment of the poll cycle.
            gap = time.monotonic() - published.get(number - 1, 0.0)
            time.sleep(max(5.6 - gap, 0.0) + rng.uniform(0.0, 1.0))
            site.publish(number)
            published[number] = time.monotonic()
            if not wait_until(lambda n=number: arrivals.arrived(n), 30, daemon):
                print(f"  item {number}: no alert within 30 s")
    finally:
        status = daemon.stop()
        mailbox.stop()
        server.stop()
    print(f"  daemon exit status {status}; duplicate or unexpected alerts: {arrivals.extra}")
    print(
        f"{'channel':<10} {'alerts':>6} {'median':>8} {'p95':>8} {'max':>8}   beyond the 1 s poll"
    )
    for channel, times in arrivals.times.items():
        delays = [times[n] - published[n] for n in published if n in times]
        if not delays:
            print(f"{channel:<10} {0:>6}")
            continue
        median, p95 = statistics.median(delays), percentile(delays, 0.95)
        verdict = "OK" if p95 - 1.0 < 2.0 else "over"
        print(
            f"{channel:<10} {len(delays):>6} {median:7.2f}s {p95:7.2f}s {max(delays):7.2f}s"
            f"   median {median - 1:+.2f} s, p95 {p95 - 1:+.2f} s (target < 2 s: {verdict})"
        )


# -- 2. memory ----------------------------------------------------------------------------------


def memory(feeds: int, cycles: int, directory: Path) -> None:
    site = WindowFeeds(feeds)
    hosts = loopback_hosts(100)
    server = FeedServer(site, hosts).start()
    urls = [server.url(f"/feeds/{n}", hosts[n % len(hosts)]) for n in range(feeds)]
    notifiers = {"webhook": server.url("/hook").replace("http://", "json://")}
    poll = {"interval": '"10s"', "tick": '"1s"', "min_interval": '"1s"'}
    config = write_config(directory, urls, notifiers, poll)
    config.write_text(config.read_text() + "[http]\nconcurrency = 100\n")
    print(
        f"memory: {feeds} feeds, interval 10 s (= 15 min compressed), tick 1 s, concurrency 100; "
        f"{max(feeds // 100, 1)} feeds publish an item per cycle"
    )
    daemon = Daemon(config)
    started = time.monotonic()
    sizes: list[int] = []
    try:
        with PeakSampler(daemon.process.pid) as peak:
            print(f"{'cycle':>5} {'time':>7} {'daemon':>8} {'workers':>8} {'total':>8}")
            for cycle in range(1, cycles + 1):
                if not wait_until(lambda c=cycle: site.cycles_done() >= c, 300, daemon):
                    raise RuntimeError(f"cycle {cycle} did not finish:\n{daemon.tail()}")
                rss = tree_rss(daemon.process.pid)
                main = rss.pop(daemon.process.pid, 0)
                sizes.append(main + sum(rss.values()))
                print(
                    f"{cycle:>5} {time.monotonic() - started:6.1f}s {main / MB:6.1f}MB "
                    f"{sum(rss.values()) / MB:6.1f}MB {sizes[-1] / MB:6.1f}MB"
                )
                site.step(max(feeds // 100, 1))
    finally:
        status = daemon.stop()
        server.stop()
    print(f"  daemon exit status {status}; alerts received at the webhook: {site.alerts}")
    print(f"  peak RSS of daemon + workers: {peak.peak / MB:.0f} MB ({peak.breakdown()})")
    if len(sizes) > 5:
        later = sizes[4:]
        print(
            f"  after the first hour (cycles 5-{len(sizes)}): min {min(later) / MB:.1f} MB, "
            f"max {max(later) / MB:.1f} MB, last - cycle 5 = "
            f"{(later[-1] - later[0]) / MB:+.1f} MB"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=50)
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--cycles", type=int, default=8)
    parser.add_argument("--skip-latency", action="store_true")
    parser.add_argument("--skip-memory", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-latency-") as tmp:
        if not args.skip_latency:
            (Path(tmp) / "latency").mkdir()
            latency(args.items, Path(tmp) / "latency")
        if not args.skip_memory:
            (Path(tmp) / "memory").mkdir()
            memory(args.feeds, args.cycles, Path(tmp) / "memory")


if __name__ == "__main__":
    main()
