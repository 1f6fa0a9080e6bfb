"""Parsing in worker processes with memory and CPU limits (research/reliability.md §1.5).

feedparser is CPU-bound and has had memory blow-ups on hostile input; parsing on the event
loop would stall the scheduler and the watchdog, and a blow-up in-process would take the daemon
down. `ParserPool` runs `parse_feed` in a process pool whose workers cap their own address space
(`RLIMIT_AS`) and CPU time per feed (`RLIMIT_CPU`). When a worker dies, the pool is replaced;
every feed that was in flight on it is retried once, alone, in a fresh single-worker pool, so
only the feed that kills its worker fails (with FeedParseError) and the others carry on.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import multiprocessing
import os
import resource
from collections.abc import Mapping
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from types import TracebackType

from watcher.feeds.parse import FeedContext, FeedParseError, ParsedFeed, parse_feed

DEFAULT_MEMORY_LIMIT = 512 * 1024 * 1024
DEFAULT_CPU_SECONDS = 30
# Workers are recycled now and then: feedparser's memory creeps up over thousands of feeds.
DEFAULT_TASKS_PER_WORKER = 500


def _limit_memory(memory_limit: int) -> None:
    """Worker initializer: cap the address space so a runaway parse fails, not the machine."""
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        memory_limit = min(memory_limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (memory_limit, hard))


def _parse_with_cpu_budget(
    cpu_seconds: int,
    body: bytes,
    headers: dict[str, str],
    feed: FeedContext,
    fetched_at: dt.datetime,
) -> ParsedFeed:
    """Run parse_feed with at most `cpu_seconds` more CPU time for this process.

    RLIMIT_CPU counts the worker's whole life, so the limit is moved to "used so far + budget"
    before each feed; past it the kernel kills the worker, which the pool reports as broken.
    """
    usage = resource.getrusage(resource.RUSAGE_SELF)
    used = int(usage.ru_utime + usage.ru_stime) + 1
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    soft = used + cpu_seconds
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))
    return parse_feed(body, headers, feed=feed, fetched_at=fetched_at)


class ParserPool:
    """A process pool for parse_feed; use as `async with ParserPool() as pool: ...`."""

    def __init__(
        self,
        *,
        max_workers: int | None = None,
        memory_limit: int = DEFAULT_MEMORY_LIMIT,
        cpu_seconds: int = DEFAULT_CPU_SECONDS,
        tasks_per_worker: int = DEFAULT_TASKS_PER_WORKER,
        start_method: str = "forkserver",
    ) -> None:
        if memory_limit <= 0 or cpu_seconds <= 0:
            raise ValueError("memory_limit and cpu_seconds must be positive")
        self.max_workers = max_workers or os.cpu_count() or 1
        self.memory_limit = memory_limit
        self.cpu_seconds = cpu_seconds
        self._tasks_per_worker = tasks_per_worker
        self._context = multiprocessing.get_context(start_method)
        self._executor = self._new_executor(self.max_workers)
        # Suspects of a crash are retried one at a time in a one-worker pool, so an innocent
        # feed never shares a worker with the one that kills it.
        self._isolated: ProcessPoolExecutor | None = None
        self._isolation = asyncio.Lock()

    def _new_executor(self, workers: int) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=workers,
            mp_context=self._context,
            initializer=_limit_memory,
            initargs=(self.memory_limit,),
            max_tasks_per_child=self._tasks_per_worker,
        )

    async def parse(
        self,
        body: bytes,
        headers: Mapping[str, str],
        feed: FeedContext,
        fetched_at: dt.datetime,
    ) -> ParsedFeed:
        """parse_feed in a worker; a worker that dies or runs out of memory on this feed
        becomes FeedParseError for this feed only."""
        task = functools.partial(
            _parse_with_cpu_budget, self.cpu_seconds, body, dict(headers), feed, fetched_at
        )
        executor = self._executor
        try:
            return await self._run(executor, task, feed)
        except BrokenProcessPool:
            self._replace(executor)
        async with self._isolation:
            self._isolated = self._isolated or self._new_executor(1)
            try:
                return await self._run(self._isolated, task, feed)
            except BrokenProcessPool:
                self._isolated.shutdown(wait=False, cancel_futures=True)
                self._isolated = None
                raise FeedParseError(
                    f"{feed.name}: the parser process died on this feed (over the "
                    f"{self.memory_limit // 2**20} MB memory or {self.cpu_seconds} s CPU limit, "
                    "or killed)"
                ) from None

    async def _run(
        self, executor: Executor, task: functools.partial[ParsedFeed], feed: FeedContext
    ) -> ParsedFeed:
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(executor, task)
        except MemoryError:
            raise FeedParseError(
                f"{feed.name}: parsing needed more than the {self.memory_limit // 2**20} MB "
                "memory limit"
            ) from None

    def _replace(self, broken: ProcessPoolExecutor) -> None:
        """Swap in a fresh pool, once per broken one, whoever notices first."""
        if self._executor is broken:
            self._executor = self._new_executor(self.max_workers)
            broken.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        """Stop the workers; parses still queued are cancelled."""
        self._executor.shutdown(wait=True, cancel_futures=True)
        if self._isolated is not None:
            self._isolated.shutdown(wait=True, cancel_futures=True)

    async def __aenter__(self) -> ParserPool:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self.close)
