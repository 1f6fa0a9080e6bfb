"""Group commit: many polls, one transaction.

A poll cycle where most feeds answer 304 would otherwise spend more time committing one tiny
transaction per feed (and hopping to a thread for it) than fetching; a cycle where many feeds
bring new entries would pay a transaction and a dozen statements per feed. A poll's write
still returns only once it is committed, so a poll that has returned has released its lease
and saved its validators (and its entries), exactly as with a write of its own; the writes that
arrive while one batch is being written simply go together in the next.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

from watcher.store.store import Store
from watcher.store.values import FetchOutcome, IngestResult, PollInput

Item = TypeVar("Item")
Result = TypeVar("Result")


class GroupCommit(Generic[Item, Result]):
    """Submitted items written in batches by `write` in a thread, one batch at a time; one per
    event loop. `write` answers each item of a batch, in order, with its result or the
    exception its submitter should get."""

    def __init__(
        self,
        write: Callable[[list[Item]], Sequence[Result | Exception]],
        name: str,
        *,
        linger: float = 0.0,
    ) -> None:
        self._write = write
        self._name = name
        self._linger = linger
        self._pending: list[tuple[Item, asyncio.Future[Result]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def submit(self, item: Item) -> Result:
        """The item's result once its batch is committed; raises what the store raised."""
        done: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._pending.append((item, done))
        if self._writer is None:
            self._writer = asyncio.create_task(self._write_batches(), name=self._name)
        return await done

    async def _write_batches(self) -> None:
        try:
            while self._pending:
                if self._linger:  # let the items that are about to come join this batch
                    await asyncio.sleep(self._linger)
                batch, self._pending = self._pending, []
                try:
                    results = await asyncio.to_thread(self._write, [item for item, _ in batch])
                except Exception as error:  # the store is down: every poll of the batch hears it
                    for _, done in batch:
                        _settle(done, error)
                    continue
                for (_, done), result in zip(batch, results, strict=True):
                    _settle(done, result)
        finally:
            self._writer = None


def _settle(done: asyncio.Future[Result], outcome: Result | BaseException) -> None:
    if done.done():  # its poll was cancelled (a drain deadline); the write stands
        return
    if isinstance(outcome, BaseException):
        done.set_exception(outcome)
    else:
        done.set_result(outcome)


class FetchRecorder:
    """Records fetches that brought nothing to ingest (304, unchanged, errors), batched."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._commit: GroupCommit[tuple[int, FetchOutcome, dt.datetime], None] = GroupCommit(
            self._record, "fetch-recorder"
        )

    async def record(self, feed_id: int, outcome: FetchOutcome, now: dt.datetime) -> None:
        """Store the outcome and release the feed's lease; raises what the store raised."""
        await self._commit.submit((feed_id, outcome, now))

    def _record(
        self, fetches: list[tuple[int, FetchOutcome, dt.datetime]]
    ) -> list[Exception | None]:
        missing = self._store.record_fetches(fetches)
        return [missing.get(feed_id) for feed_id, _, _ in fetches]


# Polls finish parsing one at a time, each sooner than the last one takes to store: without a
# pause batches would hold one poll. A pause this short is nothing beside an alert's latency.
INGEST_LINGER = 0.05


class Ingester:
    """Ingests polls with entries (`Store.ingest_many`), batched."""

    def __init__(self, store: Store) -> None:
        self._commit: GroupCommit[PollInput, IngestResult] = GroupCommit(
            store.ingest_many, "ingester", linger=INGEST_LINGER
        )

    async def ingest(self, poll: PollInput) -> IngestResult:
        """Store the poll (see `Store.ingest`); raises what the store raised for it."""
        return await self._commit.submit(poll)
