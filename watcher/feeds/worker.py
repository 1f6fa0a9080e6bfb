"""Parsing in worker processes with memory and CPU limits (research/reliability.md §1.5).

feedparser is CPU-bound and has had memory blow-ups on hostile input; parsing on the event
loop would stall the scheduler and the watchdog, and a blow-up in-process would take the daemon
down. `ParserPool` runs `parse_feed` in worker processes that cap their own address space
(`RLIMIT_AS`) and CPU time per feed (`RLIMIT_CPU`). Each worker parses one feed at a time, in
the order they were sent (the next one waits in its pipe, so that it never idles while the
parent reads an answer), so when one dies the feed that killed it is known: that feed is
retried once in a fresh worker (the kill may have come from outside) and fails with
FeedParseError if it dies again; the feeds queued behind it go to another worker untouched.

The workers are plain `python -c` processes that import the parsing code and nothing else,
talking over a pipe (length-prefixed pickles). A multiprocessing pool would re-import the
daemon's main module — the whole command line program with its scheduler, store, notifiers
and HTTP stack — into every worker, doubling its memory for code it never runs. Each worker
serves a fixed number of feeds and then exits, because feedparser's memory creeps up over
thousands of feeds; the next feed starts a fresh one.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import pickle
import resource
import signal
import struct
import subprocess
import sys
import threading
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from types import TracebackType
from typing import Any, BinaryIO

from watcher.feeds.analysis import match_entries
from watcher.feeds.identity import SeenKeys
from watcher.feeds.parse import FeedContext, FeedParseError, ParsedFeed, parse_feed
from watcher.matching import RuleSet

DEFAULT_MEMORY_LIMIT = 512 * 1024 * 1024
DEFAULT_CPU_SECONDS = 30
DEFAULT_TASKS_PER_WORKER = 2000

_LENGTH = struct.Struct("!Q")
_CHILD_MAIN = "from watcher.feeds.worker import serve; serve()"


# -- the worker process ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Rules:
    """A rule set for a worker to match entries with, sent once per worker and version."""

    version: int
    ruleset: RuleSet


def _limit_memory(memory_limit: int) -> None:
    """Cap the address space so a runaway parse fails, not the machine."""
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
    listed_before: SeenKeys = frozenset(),
    rules: _Rules | None = None,
) -> ParsedFeed:
    """Run parse_feed (and match the entries when rules are given), both sparing the entries
    `listed_before`, with at most `cpu_seconds` more CPU time for this process.

    RLIMIT_CPU counts the worker's whole life, so the limit is moved to "used so far + budget"
    before each feed; past it the kernel kills the worker.
    """
    usage = resource.getrusage(resource.RUSAGE_SELF)
    used = int(usage.ru_utime + usage.ru_stime) + 1
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    soft = used + cpu_seconds
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))
    parsed = parse_feed(
        body, headers, feed=feed, fetched_at=fetched_at, listed_before=listed_before
    )
    if rules is None:
        return parsed
    return match_entries(parsed, rules.ruleset, rules.version, listed_before)


def _read_message(stream: BinaryIO) -> Any:
    """The next pickled message; EOFError when the other side has gone."""
    head = stream.read(_LENGTH.size)
    if len(head) < _LENGTH.size:
        raise EOFError
    (length,) = _LENGTH.unpack(head)
    data = stream.read(length)
    if len(data) < length:
        raise EOFError
    return pickle.loads(data)


def _write_message(stream: BinaryIO, message: Any) -> None:
    _write_pickled(stream, pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL))


def _write_pickled(stream: BinaryIO, data: bytes) -> None:
    stream.write(_LENGTH.pack(len(data)) + data)
    stream.flush()


def _answer(stream: BinaryIO, answer: tuple[bool, Any]) -> None:
    try:
        _write_message(stream, answer)
    except (pickle.PicklingError, TypeError, AttributeError) as error:
        # An exception that cannot cross the pipe still must say what happened.
        _write_message(stream, (False, RuntimeError(f"{answer[1]!r} ({error})")))


def serve() -> None:
    """A worker's main loop: limits first, then one request per feed until the parent says
    `None` (or goes away), or the worker has parsed its share.

    Requests arrive on standard input; answers leave on what was standard output, which is
    moved aside first so that a stray print can never corrupt an answer.
    """
    # Ctrl-C in a terminal reaches the whole process group; stopping is the parent's call.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    answers = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    requests = sys.stdin.buffer
    memory_limit, tasks = _read_message(requests)
    _limit_memory(memory_limit)
    _write_message(answers, True)  # ready
    rules: _Rules | None = None
    served = 0
    while served < tasks:
        try:
            request = _read_message(requests)
        except EOFError:
            return
        if request is None:
            return
        if isinstance(request, _Rules):  # for the feeds that follow; no answer
            rules = request
            continue
        served += 1
        try:
            *parse_request, wanted_version = request
            matching = rules if rules is not None and rules.version == wanted_version else None
            answer: tuple[bool, Any] = (True, _parse_with_cpu_budget(*parse_request, matching))
        except MemoryError:
            # Whatever survived the failed allocation is suspect: answer, then leave.
            _write_message(answers, (False, MemoryError()))
            return
        except Exception as error:  # the caller re-raises it, as if parsed in-process
            answer = (False, error)
        _answer(answers, answer)


# -- the parent's side ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _PickledRules:
    """A `_Rules` message, pickled once for every worker that needs it."""

    version: int
    data: bytes


class _WorkerDied(Exception):
    """The worker process ended while it held our feed. `culprit`: it was parsing this feed
    (else it died on an earlier one, or left after a MemoryError, before starting ours)."""

    def __init__(self, *, culprit: bool) -> None:
        super().__init__()
        self.culprit = culprit


class _Worker:
    """One worker process with up to `DEPTH` requests queued at it, each sent and answered by
    its own pool thread. Answers come back in the order of the requests, so each thread waits
    for its turn to read."""

    def __init__(self, memory_limit: int, tasks: int) -> None:
        # The worker imports from where this process does, never from the working directory
        # (`-P`: `python -c` would put it first on the path).
        path = os.pathsep.join(entry for entry in sys.path if entry)
        self.process = subprocess.Popen(
            [sys.executable, "-P", "-c", _CHILD_MAIN],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": path},
            # Our descriptors are not inheritable anyway; keeping them lets subprocess use
            # posix_spawn (vfork) instead of forking a copy of the daemon's whole address space.
            close_fds=False,
        )
        self.left = tasks  # requests it will still take; counted when a thread takes a slot
        self.assigned = 0  # threads holding one of its slots
        self.rules_version: int | None = None
        self._sent = 0
        self._read = 0
        # The number of the first request it will never answer: it died on that one, or left
        # after a MemoryError just before it.
        self._last_answer: int | None = None
        self._lock_write = threading.Lock()
        self._turn = threading.Condition()
        assert self.process.stdin is not None and self.process.stdout is not None
        try:
            _write_message(self.process.stdin, (memory_limit, tasks))
            _read_message(self.process.stdout)
        except (EOFError, BrokenPipeError):
            self.stop()
            raise FeedParseError(
                f"the parser process could not start (exit status {self.process.returncode})"
            ) from None

    @property
    def usable(self) -> bool:
        return self.left > 0 and self._last_answer is None and self.process.poll() is None

    def run(self, request: tuple[Any, ...], rules: _PickledRules | None) -> tuple[bool, Any]:
        assert self.process.stdin is not None and self.process.stdout is not None
        with self._lock_write:
            number = self._sent
            self._sent += 1
            try:
                if rules is not None and rules.version != self.rules_version:
                    _write_pickled(self.process.stdin, rules.data)
                    self.rules_version = rules.version
                _write_message(self.process.stdin, request)
            except OSError:  # it has died: reading says on which request
                pass
        with self._turn:
            self._turn.wait_for(lambda: self._read == number or self._last_answer is not None)
            if self._last_answer is not None:  # it is gone before starting ours
                raise _WorkerDied(culprit=False)
            try:
                answer = _read_message(self.process.stdout)
            except (EOFError, OSError):
                self._last_answer = number
                self._turn.notify_all()
                raise _WorkerDied(culprit=True) from None
            self._read = number + 1
            if isinstance(answer[1], MemoryError):  # it leaves after a MemoryError
                self._last_answer = self._read
            self._turn.notify_all()
        return answer

    def stop(self) -> None:
        process = self.process
        if process.poll() is None:
            try:
                assert process.stdin is not None
                with self._lock_write:
                    _write_message(process.stdin, None)
            except (BrokenPipeError, OSError):
                pass
        for stream in (process.stdin, process.stdout):
            if stream is not None:
                # Closing flushes: a request written after the worker died is still buffered,
                # and its broken pipe must not fail the feed whose thread happens to stop it.
                with contextlib.suppress(OSError):
                    stream.close()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# Requests queued at each worker: while the parent reads one answer (and waits for the GIL to
# do so), the worker is already parsing the next feed instead of idling.
DEPTH = 2


class ParserPool:
    """Worker processes for parse_feed; use as `async with ParserPool() as pool: ...`."""

    def __init__(
        self,
        *,
        max_workers: int | None = None,
        memory_limit: int = DEFAULT_MEMORY_LIMIT,
        cpu_seconds: int = DEFAULT_CPU_SECONDS,
        tasks_per_worker: int = DEFAULT_TASKS_PER_WORKER,
    ) -> None:
        if memory_limit <= 0 or cpu_seconds <= 0 or tasks_per_worker <= 0:
            raise ValueError("memory_limit, cpu_seconds and tasks_per_worker must be positive")
        self.max_workers = max_workers or os.cpu_count() or 1
        self.memory_limit = memory_limit
        self.cpu_seconds = cpu_seconds
        self._tasks_per_worker = tasks_per_worker
        # One thread per queued request: it writes the request and waits for the answer.
        # A pool of our own, not the loop's default one (DNS lookups run there).
        self._threads = ThreadPoolExecutor(self.max_workers * DEPTH, thread_name_prefix="parser")
        self._workers: set[_Worker] = set()
        self._lock = threading.Lock()
        self._closed = False
        self._rules: _PickledRules | None = None

    def use_rules(self, ruleset: RuleSet | None) -> None:
        """Match every parsed entry with `ruleset` from the next feed on (None: stop matching).
        The entries then carry their matches, and `ParsedFeed.rules_version` says with which
        rule set (compare `rules_version`)."""
        if ruleset is None:
            self._rules = None
            return
        version = (self._rules.version + 1) if self._rules else 1
        message = _Rules(version, ruleset)
        self._rules = _PickledRules(
            version, pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        )

    @property
    def rules_version(self) -> int | None:
        return self._rules.version if self._rules else None

    async def parse(
        self,
        body: bytes,
        headers: Mapping[str, str],
        feed: FeedContext,
        fetched_at: dt.datetime,
        *,
        match: bool = True,
        listed_before: SeenKeys = frozenset(),
    ) -> ParsedFeed:
        """parse_feed in a worker, which also matches the entries when the pool has rules and
        `match` is true; a worker that dies or runs out of memory on this feed becomes
        FeedParseError for this feed only. `listed_before`: keys of entries the store has
        seen; they are neither normalized (when their guids alone give those keys: see
        `parse_feed`) nor matched, as nothing would use their articles or matches
        (`EVERY_KEY`: every entry counts as seen)."""
        rules = self._rules if match else None
        # The last item says which rule set to match with (None: parse only).
        request = (
            self.cpu_seconds,
            body,
            dict(headers),
            feed,
            fetched_at,
            listed_before,
            rules.version if rules else None,
        )
        loop = asyncio.get_running_loop()
        ok, value = await loop.run_in_executor(self._threads, self._run, request, feed.name, rules)
        if ok:
            return value
        if isinstance(value, MemoryError):
            raise FeedParseError(
                f"{feed.name}: parsing needed more than the {self.memory_limit // 2**20} MB "
                "memory limit"
            )
        raise value

    def _run(
        self, request: tuple[Any, ...], name: str, rules: _PickledRules | None
    ) -> tuple[bool, Any]:
        """In a pool thread: send the request to a worker and wait for the answer; once more to
        a fresh worker if one died on it. A request queued behind a feed that killed its
        worker was never started: it goes to another worker without counting as an attempt."""
        attempts = 0
        while True:
            worker = self._checkout()
            try:
                return worker.run(request, rules)
            except _WorkerDied as died:
                if died.culprit:
                    attempts += 1
                if attempts == 2:
                    return False, FeedParseError(
                        f"{name}: the parser process died on this feed (over the "
                        f"{self.memory_limit // 2**20} MB memory or {self.cpu_seconds} s CPU "
                        "limit, or killed)"
                    )
            finally:
                self._checkin(worker)

    def _checkout(self) -> _Worker:
        """A slot at a worker: an idle one, else a new one while there are fewer than
        `max_workers`, else the least busy one with a free slot (a new one when none has)."""
        with self._lock:
            if self._closed:
                raise FeedParseError("the parser pool is closed")
            usable = [w for w in self._workers if w.usable]
            free = [w for w in usable if w.assigned < DEPTH]
            idle = [w for w in free if w.assigned == 0]
            if idle:
                worker = idle[0]
            elif free and len(usable) >= self.max_workers:
                worker = min(free, key=lambda w: w.assigned)
            else:
                worker = _Worker(self.memory_limit, self._tasks_per_worker)
                self._workers.add(worker)
            worker.assigned += 1
            worker.left -= 1
            return worker

    def _checkin(self, worker: _Worker) -> None:
        with self._lock:
            worker.assigned -= 1
            done = worker.assigned == 0 and not worker.usable
            if done:
                self._workers.discard(worker)
        if done:  # it has served its share, died, or is leaving after a MemoryError
            worker.stop()

    def close(self) -> None:
        """Stop the workers; parses still queued are cancelled."""
        self._threads.shutdown(wait=True, cancel_futures=True)
        with self._lock:
            self._closed = True
            workers, self._workers = self._workers, set()
        for worker in workers:
            worker.stop()

    async def __aenter__(self) -> ParserPool:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self.close)
