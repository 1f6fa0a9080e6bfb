"""Poll-cycle benchmark (issue 3 §7): watcher against raw references measured in the same run.

A loopback server (its own process, `feedserver.py`) serves N feeds × 30 entries of realistic
RSS 2.0 (`feedgen.py`, about 62 KB each) from 100 loopback addresses. watcher polls them all with
its real code path — `Poller.poll` for every feed, claimed and run with the concurrency limit
exactly as `Daemon._cycle` (`watcher run --once`) does; the real fetcher, two parser worker
processes, the shipped rules, and a SQLite store in a temporary directory.

Cycles, in this order:

1. first poll: every feed is new to the store, so its entries are only marked seen;
2. full cycle: every feed now lists 30 entries it never listed before, so all 30 are new:
   fetched, parsed, matched, stored with their stories and matches, alerts queued. This is the
   honest "all new" cycle: the feeds are primed, as in a running daemon, and nothing is skipped
   (`first_poll_alerts` would cover only the newest N of a feed's first poll);
3. 304 cycle: every feed answers the conditional GET with 304;
4. unchanged cycle: every feed ignores the validators and sends the same body again (200);
   the body hash must spare the parse;
5. one-new cycle: every feed lists one new entry on top of 29 it listed at the last stored
   poll, the usual change of a live feed; only the new entry needs matching and clustering.

References, same run, same server: plain `httpx` GETs of the same URLs at the same concurrency
(with the same validators for the 304 cycle), and plain `feedparser.parse` over the same bytes
of the full cycle (and of the one-new cycle), one after another in this process. Memory: the
resident set of this process and its parser workers together, sampled from /proc during every
watcher cycle.

To show where the full cycle's time goes, its CPU time is given in units of feedparser's
sequential parse (the target allows 1.3 × cores ÷ workers of them when every core is busy), and
the full cycle's bodies are also run through the parser workers alone: parsed, normalized and
matched exactly as in the cycle, with nothing fetched or stored beside them.

    python benchmarks/bench_poll.py [--feeds 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import datetime as dt
import io
import logging
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import feedparser
import httpx
from benchconfig import config_head
from feedgen import followup_xml
from feedserver import FOLLOWUP, loopback_hosts
from proctree import CpuUse, PeakSampler

import watcher as watcher_package
from watcher.config import Settings, load_settings
from watcher.feeds.fetch import Fetcher
from watcher.feeds.parse import FeedContext
from watcher.matching import RuleSet, load_ruleset
from watcher.poller import Poller, PollReport, paused_report, poll_every_feed
from watcher.runtime import freeze_long_lived_objects, http_limits, parser_pool
from watcher.store import Store

HERE = Path(__file__).resolve().parent
MB = 1024 * 1024


@dataclass
class CycleResult:
    seconds: float
    peak_rss: int
    reports: list[PollReport]
    cpu: CpuUse
    memory: str

    def summary(self) -> str:
        outcomes = Counter(
            "error" if r.error else "304/unchanged" if r.not_modified else "parsed"
            for r in self.reports
        )
        entries = sum(r.entries for r in self.reports)
        new = sum(r.new for r in self.reports)
        alerts = sum(r.alerts for r in self.reports)
        parts = [f"{count} {name}" for name, count in sorted(outcomes.items())]
        if entries:
            parts.append(f"{entries} entries, {new} new, {alerts} alerts queued")
        parts.append(
            f"peak RSS {self.peak_rss / MB:.0f} MB ({self.memory}); cores busy: "
            f"main {self.cpu.main:.2f}, workers {self.cpu.children:.2f}, "
            f"other programs {self.cpu.foreign:.2f}"
        )
        return ", ".join(parts)


def write_config(directory: Path, port: int, feeds: int, hosts: list[str]) -> Path:
    lines = [*config_head(directory, {"parser_workers": 2}), ""]
    for number in range(feeds):
        host = hosts[number % len(hosts)]
        lines += [
            "[[feeds]]",
            f'name = "feed-{number:05d}"',
            f'url = "http://{host}:{port}/feeds/{number}"',
            'section = "WORLD"',
            "",
        ]
    path = directory / "watcher.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


class Server:
    """The feed server process."""

    def __init__(self, feeds: int, hosts: int, followups: int) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(HERE / "feedserver.py"), "--feeds", str(feeds),
             "--hosts", str(hosts), "--followups", str(followups)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line.startswith("READY"):
            raise RuntimeError(f"feed server failed to start: {line!r}")
        self.port = int(line.split()[1])
        self.control_host = loopback_hosts(1)[0]

    def switch(self, mode: str, generation: int) -> None:
        url = f"http://{self.control_host}:{self.port}/_control/{mode}/{generation}"
        httpx.get(url).raise_for_status()

    def stop(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(10)


class Watcher:
    """watcher's own pipeline, built once from a config file as the daemon builds it."""

    def __init__(self, config: Path, exclude_pids: list[int]) -> None:
        self.settings = load_settings(config)
        rules = load_ruleset(self.settings.rules.paths)
        assert not rules.errors, rules.problems
        self.ruleset = rules.ruleset
        self.store = Store.open(self.settings.store.url)
        self.store.sync_feeds(self.settings.feeds, dt.datetime.now(dt.UTC))
        self.exclude = exclude_pids
        self.owner = f"bench:{os.getpid()}"

    async def cycle(self, poller: Poller) -> CycleResult:
        """Claim every feed and poll them all, as `Daemon._cycle` does."""
        with (
            PeakSampler(os.getpid(), self.exclude) as sampler,
            CpuUse(os.getpid(), self.exclude) as cpu,
        ):
            started = time.perf_counter()

            async def poll(row) -> PollReport:
                # The daemon lets go of each poll's matched articles once it is stored.
                report = await poller.poll(row)
                report.matches = []
                return report

            reports = await poll_every_feed(
                self.store, self.owner, self.settings, poll, paused_report
            )
            seconds = time.perf_counter() - started
        return CycleResult(seconds, sampler.peak, list(reports), cpu, sampler.breakdown())


async def raw_gets(
    urls: list[str], concurrency: int, validators: dict[str, tuple[str, str]] | None = None
) -> tuple[float, Counter, dict[str, bytes], dict[str, tuple[str, str]]]:
    """Plain httpx GETs of every URL, `concurrency` at a time; returns the time, the statuses,
    the bodies and the validators received."""
    bodies: dict[str, bytes] = {}
    received: dict[str, tuple[str, str]] = {}
    statuses: Counter = Counter()
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    slots = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(limits=limits) as client:

        async def one(url: str) -> None:
            headers = {}
            if validators:
                etag, modified = validators[url]
                headers = {"If-None-Match": etag, "If-Modified-Since": modified}
            async with slots:
                reply = await client.get(url, headers=headers)
            statuses[reply.status_code] += 1
            bodies[url] = reply.content
            received[url] = (reply.headers.get("etag", ""), reply.headers.get("last-modified", ""))

        started = time.perf_counter()
        await asyncio.gather(*(one(url) for url in urls))
        seconds = time.perf_counter() - started
    return seconds, statuses, bodies, received


def raw_feedparser(bodies: list[bytes]) -> tuple[float, int]:
    started = time.perf_counter()
    entries = 0
    for body in bodies:
        entries += len(feedparser.parse(io.BytesIO(body)).entries)
    return time.perf_counter() - started, entries


async def workers_alone(
    bodies: list[bytes], settings: Settings, ruleset: RuleSet, exclude: list[int]
) -> tuple[float, CpuUse]:
    """The full cycle's parsing and matching alone: the same bodies through a parser pool of
    the daemon's size, with the same rules, nothing fetched or stored; returns the time and
    the processors it kept busy."""
    headers = {"content-type": "application/rss+xml; charset=utf-8"}
    fetched_at = dt.datetime.now(dt.UTC)
    slots = asyncio.Semaphore(settings.http.concurrency)
    async with parser_pool(settings.poll) as pool:
        pool.use_rules(ruleset)

        async def one(number: int, body: bytes) -> None:
            context = FeedContext(name=f"feed-{number:05d}", url=f"http://feed.invalid/{number}")
            async with slots:
                await pool.parse(body, headers, context, fetched_at)

        await one(0, bodies[0])  # the workers started, the rules sent
        with CpuUse(os.getpid(), exclude) as cpu:
            started = time.perf_counter()
            await asyncio.gather(*(one(n, body) for n, body in enumerate(bodies)))
            seconds = time.perf_counter() - started
    return seconds, cpu


def row(label: str, seconds: float, reference: str, ref_seconds: float | None, target: str) -> str:
    ratio = f"{seconds / ref_seconds:5.2f}×" if ref_seconds else "     "
    ref = f"{ref_seconds:7.2f} s" if ref_seconds else " " * 9
    return f"{label:<34} {seconds:7.2f} s   {reference:<30} {ref}   {ratio}   {target}"


async def run(args: argparse.Namespace) -> None:
    directory = Path(tempfile.mkdtemp(prefix="bench-poll-"))
    logging.basicConfig(
        filename=directory / "watcher.log",
        level=logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
    )
    started = time.perf_counter()
    server = Server(args.feeds, args.hosts, args.repeat)
    print(f"server: {args.feeds} feeds generated in {time.perf_counter() - started:.1f} s")
    try:
        hosts = loopback_hosts(args.hosts)
        config = write_config(directory, server.port, args.feeds, hosts)
        watcher = Watcher(config, [server.process.pid])
        settings = watcher.settings
        concurrency = settings.http.concurrency
        urls = [feed.url for feed in settings.feeds]
        print(
            f"watcher: {args.feeds} feeds on {args.hosts} loopback hosts, "
            f"{settings.poll.parser_workers} parser workers, concurrency {concurrency} "
            f"(per host {settings.http.per_host}), {len(watcher.ruleset)} rules, "
            f"SQLite in {directory}{'' if args.keep else ' (deleted at the end; --keep keeps it)'}"
        )
        print(f"watcher code: {Path(watcher_package.__file__).parent}")
        async with Fetcher(http_limits(settings.http)) as fetcher:
            parser = parser_pool(settings.poll)
            try:
                poller = Poller(settings, watcher.store, fetcher, parser, watcher.ruleset)
                freeze_long_lived_objects()  # as the daemon does once started
                server.switch("conditional", 0)
                first = await watcher.cycle(poller)
                print(f"  first poll      {first.seconds:6.2f} s  {first.summary()}")
                server.switch("conditional", 1)
                profiler = cProfile.Profile() if args.profile else None
                if profiler:
                    profiler.enable()
                full = await watcher.cycle(poller)
                if profiler:
                    profiler.disable()
                    profiler.dump_stats(args.profile)
                print(f"  full cycle      {full.seconds:6.2f} s  {full.summary()}")
                not_modified, unchanged = [], []
                for _ in range(args.repeat):
                    not_modified.append(await watcher.cycle(poller))
                    print(
                        f"  304 cycle       {not_modified[-1].seconds:6.2f} s  "
                        f"{not_modified[-1].summary()}"
                    )
                server.switch("ignore-validators", 1)
                for _ in range(args.repeat):
                    unchanged.append(await watcher.cycle(poller))
                    print(
                        f"  unchanged cycle {unchanged[-1].seconds:6.2f} s  "
                        f"{unchanged[-1].summary()}"
                    )
                one_new = []
                for added in range(1, args.repeat + 1):
                    server.switch("conditional", FOLLOWUP + added)
                    one_new.append(await watcher.cycle(poller))
                    print(
                        f"  one-new cycle   {one_new[-1].seconds:6.2f} s  {one_new[-1].summary()}"
                    )
            finally:
                parser.close()
        watcher.store.close()
        peak = max(c.peak_rss for c in [first, full, *not_modified, *unchanged, *one_new])

        print("references (same server, same URLs):")
        server.switch("ignore-validators", 1)  # the full cycle's bodies, never a 304
        raw_200, raw_304 = [], []
        for _ in range(args.repeat):
            with CpuUse(os.getpid(), [server.process.pid]) as load:
                seconds, statuses, bodies, validators = await raw_gets(urls, concurrency)
            raw_200.append(seconds)
            print(
                f"  httpx GET, 200  {seconds:6.2f} s  {dict(statuses)}, "
                f"other programs {load.foreign:.2f} cores"
            )
        server.switch("conditional", 1)
        for _ in range(args.repeat):
            with CpuUse(os.getpid(), [server.process.pid]) as load:
                seconds, statuses, _, _ = await raw_gets(urls, concurrency, validators)
            raw_304.append(seconds)
            print(
                f"  httpx GET, 304  {seconds:6.2f} s  {dict(statuses)}, "
                f"other programs {load.foreign:.2f} cores"
            )
        with CpuUse(os.getpid(), [server.process.pid]) as load:
            parse_seconds, entries = raw_feedparser([bodies[url] for url in urls])
        print(
            f"  feedparser      {parse_seconds:6.2f} s  {entries} entries, sequential, "
            f"other programs {load.foreign:.2f} cores"
        )
        alone_seconds, alone_cpu = await workers_alone(
            [bodies[url] for url in urls], settings, watcher.ruleset, [server.process.pid]
        )
        print(
            f"  parse + match   {alone_seconds:6.2f} s  the same bodies in "
            f"{settings.poll.parser_workers} parser workers alone (nothing fetched or stored), "
            f"cores busy: main {alone_cpu.main:.2f}, workers {alone_cpu.children:.2f}"
        )
        with CpuUse(os.getpid(), [server.process.pid]) as load:
            followup_seconds, entries = raw_feedparser(
                [followup_xml(feed, 1, 1) for feed in range(args.feeds)]
            )
        print(
            f"  feedparser      {followup_seconds:6.2f} s  {entries} entries of the one-new "
            f"cycle, sequential, other programs {load.foreign:.2f} cores"
        )
    finally:
        server.stop()
        if not args.keep:
            shutil.rmtree(directory, ignore_errors=True)

    workers = settings.poll.parser_workers
    cores = os.cpu_count() or 1
    per_worker = parse_seconds / workers
    median_304 = statistics.median(c.seconds for c in not_modified)
    median_unchanged = statistics.median(c.seconds for c in unchanged)
    median_one_new = statistics.median(c.seconds for c in one_new)
    size = sum(len(body) for body in bodies.values())
    print()
    print(
        f"{args.feeds} feeds × 30 entries, {size / args.feeds / 1000:.0f} kB each; "
        f"medians of {args.repeat} runs for the 304, unchanged and one-new cycles"
    )
    print(f"{'cycle':<34} {'watcher':>9}   {'reference':<30} {'':>9}   {'ratio':>6}   target")
    print(row("full cycle, all entries new", full.seconds,
              f"feedparser ÷ {workers} workers", per_worker, "≤ 1.30×"))  # fmt: skip
    print(row("304 cycle", median_304, "httpx GETs (304)", statistics.median(raw_304), "≤ 1.50×"))
    print(row("unchanged body, 200 (hash skip)", median_unchanged,
              "httpx GETs (200)", statistics.median(raw_200), ""))  # fmt: skip
    print(row("one new entry per feed", median_one_new,
              f"feedparser ÷ {workers} workers", followup_seconds / workers, ""))  # fmt: skip
    print(row("parse + match only, in the workers", alone_seconds,
              f"feedparser ÷ {workers} workers", per_worker, ""))  # fmt: skip
    print(row("first poll (marks seen)", first.seconds, "", None, ""))
    # The full cycle keeps every core busy, so its wall time is its CPU time over the cores:
    # in units of feedparser's own sequential parse, the target (1.3 × parse ÷ workers of wall
    # time) allows 1.3 × cores ÷ workers of CPU, all processes together.
    daemon_cpu, workers_cpu = (share * full.seconds / parse_seconds for share in
                               (full.cpu.main, full.cpu.children))  # fmt: skip
    print(
        f"{'full cycle CPU ÷ feedparser parse':<34} daemon {daemon_cpu:.2f} + parser workers "
        f"{workers_cpu:.2f} = {daemon_cpu + workers_cpu:.2f} (the target's budget: "
        f"{1.3 * cores / workers:.2f} with {cores} cores busy)"
    )
    print(
        f"{'… the workers alone ÷ parse':<34} parser workers "
        f"{alone_cpu.children * alone_seconds / parse_seconds:.2f} (the same work as in the "
        "full cycle, without the daemon beside them)"
    )
    print(
        f"{'peak RSS, process + workers':<34} {peak / MB:7.0f} MB  "
        f"(full cycle {full.peak_rss / MB:.0f} MB)                            ≤ 300 MB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--hosts", type=int, default=100, help="loopback addresses to spread over")
    parser.add_argument(
        "--profile", metavar="FILE", help="write a cProfile of the full cycle (this process)"
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs of the 304/unchanged cycles")
    parser.add_argument(
        "--keep", action="store_true", help="keep the store and the log (deleted by default)"
    )
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
