"""Group commit of fetch outcomes: many polls, one transaction.

A poll cycle where most feeds answer 304 would otherwise spend more time committing one tiny
transaction per feed (and hopping to a thread for it) than fetching. `FetchRecorder.record`
still returns only once its outcome is committed, so a poll that has returned has released its
lease and saved its validators, exactly as with `Store.record_fetch`; the outcomes that arrive
while one batch is being written simply go together in the next.
"""

from __future__ import annotations

import asyncio
import datetime as dt

from watcher.store.store import Store
from watcher.store.values import FetchOutcome

_Pending = tuple[int, FetchOutcome, dt.datetime, asyncio.Future[None]]


class FetchRecorder:
    """Records fetches that brought nothing to ingest, batched; one per event loop."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._pending: list[_Pending] = []
        self._writer: asyncio.Task[None] | None = None

    async def record(self, feed_id: int, outcome: FetchOutcome, now: dt.datetime) -> None:
        """Store the outcome and release the feed's lease; raises what the store raised."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((feed_id, outcome, now, done))
        if self._writer is None:
            self._writer = asyncio.create_task(self._write_batches(), name="fetch-recorder")
        await done

    async def _write_batches(self) -> None:
        try:
            while self._pending:
                batch, self._pending = self._pending, []
                try:
                    missing = await asyncio.to_thread(
                        self._store.record_fetches, [item[:3] for item in batch]
                    )
                except Exception as error:  # the store is down: every poll of the batch hears it
                    for *_, done in batch:
                        _settle(done, error)
                    continue
                for feed_id, _, _, done in batch:
                    _settle(done, missing.get(feed_id))
        finally:
            self._writer = None


def _settle(done: asyncio.Future[None], error: BaseException | None) -> None:
    if done.done():  # its poll was cancelled (a drain deadline); the write stands
        return
    if error is None:
        done.set_result(None)
    else:
        done.set_exception(error)
