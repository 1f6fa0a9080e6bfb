"""Fetcher benchmark: `Fetcher.fetch` alone against plain httpx GETs, measured in the same run.

The loopback feed server of `bench_poll.py` (`feedserver.py`, its own process) serves N feeds of
about 62 KB on 100 loopback addresses. Each round fetches every feed once, `concurrency` at a
time, in two modes: every feed answers the conditional GET with 304, and every feed sends the
same body again (200, which the fetcher hashes and reports as unchanged). The reference is the
same URLs through one plain `httpx.AsyncClient` with the same connection limits.

Rounds alternate between watcher and the reference so that other programs on the machine
weigh on both alike; the figures are the medians of the rounds, as wall time and as CPU time of
this process (the fetcher's cost: the server runs in another process), and their ratios.

    python benchmarks/bench_fetch.py [--feeds 1000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections import Counter
from collections.abc import Awaitable, Callable

import httpx
from bench_poll import Server
from feedserver import loopback_hosts

from watcher.feeds.fetch import Fetcher, HttpLimits

Validators = dict[str, tuple[str, str]]
#: Wall seconds, CPU seconds of this process, and the statuses or outcomes seen.
Timed = tuple[float, float, Counter]


async def timed(run: Callable[[], Awaitable[Counter]]) -> Timed:
    wall, cpu = time.perf_counter(), time.process_time()
    seen = await run()
    return time.perf_counter() - wall, time.process_time() - cpu, seen


async def watcher_round(
    fetcher: Fetcher, urls: list[str], validators: Validators, hashes: dict[str, str]
) -> Counter:
    async def one(url: str) -> str:
        etag, modified = validators[url]
        result = await fetcher.fetch(
            url, etag=etag, last_modified=modified, previous_body_hash=hashes[url]
        )
        return str(result.outcome)

    # The poller bounds its polls by the same concurrency as the fetcher's own.
    slots = asyncio.Semaphore(fetcher.limits.concurrency)

    async def bounded(url: str) -> str:
        async with slots:
            return await one(url)

    return Counter(await asyncio.gather(*(bounded(url) for url in urls)))


async def httpx_round(
    client: httpx.AsyncClient, urls: list[str], validators: Validators, concurrency: int
) -> Counter:
    slots = asyncio.Semaphore(concurrency)

    async def one(url: str) -> int:
        etag, modified = validators[url]
        headers = {"If-None-Match": etag, "If-Modified-Since": modified}
        async with slots:
            reply = await client.get(url, headers=headers)
        return reply.status_code

    return Counter(await asyncio.gather(*(one(url) for url in urls)))


async def prime(fetcher: Fetcher, urls: list[str]) -> tuple[Validators, dict[str, str]]:
    """Every feed's validators and body hash, as a store would hold them after a poll."""
    results = await asyncio.gather(*(fetcher.fetch(url) for url in urls))
    assert all(r.ok for r in results), [r.error for r in results if not r.ok][:3]
    validators = {r.url: (r.etag or "", r.last_modified or "") for r in results}
    return validators, {r.url: r.body_hash or "" for r in results}


async def compare(
    fetcher: Fetcher,
    client: httpx.AsyncClient,
    urls: list[str],
    primed: tuple[Validators, dict[str, str]],
    rounds: int,
) -> tuple[list[Timed], list[Timed]]:
    """`rounds` rounds of watcher and of plain httpx, one after the other."""
    validators, hashes = primed
    concurrency = fetcher.limits.concurrency
    ours, theirs = [], []
    for _ in range(rounds):
        ours.append(await timed(lambda: watcher_round(fetcher, urls, validators, hashes)))
        theirs.append(await timed(lambda: httpx_round(client, urls, validators, concurrency)))
    return ours, theirs


def report(label: str, ours: list[Timed], theirs: list[Timed]) -> str:
    wall, ref_wall = (statistics.median(r[0] for r in runs) for runs in (ours, theirs))
    cpu, ref_cpu = (statistics.median(r[1] for r in runs) for runs in (ours, theirs))
    seen = dict(ours[-1][2] + theirs[-1][2])
    return (
        f"{label:<10} {wall:11.3f}s {ref_wall:9.3f}s {wall / ref_wall:5.2f}×   "
        f"{cpu:10.3f}s {ref_cpu:8.3f}s {cpu / ref_cpu:5.2f}×   {seen}"
    )


async def run(args: argparse.Namespace) -> None:
    server = Server(args.feeds, args.hosts)
    try:
        hosts = loopback_hosts(args.hosts)
        urls = [
            f"http://{hosts[n % len(hosts)]}:{server.port}/feeds/{n}" for n in range(args.feeds)
        ]
        limits = HttpLimits(concurrency=args.concurrency)
        pool = httpx.Limits(
            max_connections=args.concurrency, max_keepalive_connections=args.concurrency
        )
        server.switch("conditional", 1)
        async with Fetcher(limits) as fetcher, httpx.AsyncClient(limits=pool) as client:
            primed = await prime(fetcher, urls)
            print(
                f"{args.feeds} feeds on {args.hosts} loopback hosts, concurrency "
                f"{args.concurrency} (per host {limits.per_host}), medians of {args.rounds} rounds"
            )
            print(f"{'mode':<10} {'watcher wall':>12} {'httpx wall':>10} {'ratio':>6}   "
                  f"{'watcher CPU':>11} {'httpx CPU':>9} {'ratio':>6}   outcomes")  # fmt: skip
            for mode, label in (("conditional", "304"), ("ignore-validators", "unchanged")):
                server.switch(mode, 1)
                print(report(label, *await compare(fetcher, client, urls, primed, args.rounds)))
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--hosts", type=int, default=100, help="loopback addresses to spread over")
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=5, help="rounds of each, medians reported")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
