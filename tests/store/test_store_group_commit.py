"""Fetch outcomes and entries of concurrent polls are committed together, and each poll hears
its own."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Sequence

from tests.store.builders import T0, add_feed, count, entry, primed_feed
from watcher.store import FetchOutcome, PollInput, Store, StoreError, Validators
from watcher.store.group_commit import FetchRecorder, Ingester

LATER = T0 + dt.timedelta(minutes=15)


class CountingStore:
    """The store, with a record of the batches it was asked to write."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.batches: list[int] = []

    def record_fetches(self, fetches: Sequence[tuple[int, FetchOutcome, dt.datetime]]):
        self.batches.append(len(fetches))
        return self.store.record_fetches(fetches)

    def ingest_many(self, polls: Sequence[PollInput]):
        self.batches.append(len(polls))
        return self.store.ingest_many(polls)


async def test_concurrent_polls_share_transactions_and_each_is_stored(store: Store) -> None:
    names = {add_feed(store, f"feed{n}"): f"feed{n}" for n in range(40)}
    ids = list(names)
    store.claim_due_feeds("node", T0, limit=100, lease_seconds=600)
    counting = CountingStore(store)
    recorder = FetchRecorder(counting)  # type: ignore[arg-type]

    async def poll(feed_id: int) -> None:
        await asyncio.sleep(0)
        outcome = FetchOutcome(304, LATER, validators=Validators(etag=f'"{feed_id}"'))
        await recorder.record(feed_id, outcome, T0)
        # Once `record` returns, the feed's state is committed and its lease is free.
        row = store.feed(names[feed_id])
        assert row is not None and row.etag == f'"{feed_id}"' and row.lease_owner is None

    await asyncio.gather(*(poll(feed_id) for feed_id in ids))

    assert sum(counting.batches) == 40 and len(counting.batches) < 40
    rows = {row.id: row for row in store.claim_due_feeds("other", LATER, limit=100)}
    assert sorted(rows) == sorted(ids)
    assert all(rows[feed_id].etag == f'"{feed_id}"' for feed_id in ids)


async def test_a_feed_missing_from_the_store_fails_alone(store: Store) -> None:
    kept = add_feed(store, "kept")
    recorder = FetchRecorder(store)
    results = await asyncio.gather(
        recorder.record(kept, FetchOutcome(200, LATER), T0),
        recorder.record(999_999, FetchOutcome(200, LATER), T0),
        return_exceptions=True,
    )
    assert results[0] is None
    assert isinstance(results[1], StoreError) and "999999" in str(results[1])
    [row] = store.claim_due_feeds("other", LATER)
    assert row.id == kept and row.last_status == 200


class DownStore:
    def record_fetches(self, fetches: Sequence[tuple[int, FetchOutcome, dt.datetime]]):
        raise StoreError("store sqlite:///watcher.db: database is locked")


async def test_a_store_that_fails_fails_every_waiting_poll() -> None:
    recorder = FetchRecorder(DownStore())  # type: ignore[arg-type]
    results = await asyncio.gather(
        *(recorder.record(n, FetchOutcome(200, LATER), T0) for n in range(3)),
        return_exceptions=True,
    )
    assert [str(r) for r in results] == ["store sqlite:///watcher.db: database is locked"] * 3


async def test_concurrent_polls_ingest_together_and_each_hears_its_result(store: Store) -> None:
    feeds = [primed_feed(store, f"feed{n}") for n in range(30)]
    counting = CountingStore(store)
    ingester = Ingester(counting)  # type: ignore[arg-type]

    async def poll(feed_id: int):
        await asyncio.sleep(0)
        polled = [entry(f"{feed_id}:{n}", notifiers=("chat",)) for n in range(3)]
        return await ingester.ingest(PollInput(feed_id, polled, T0))

    results = await asyncio.gather(
        *(poll(feed_id) for feed_id in feeds),
        ingester.ingest(PollInput(999_999, [entry("x")], T0)),
        return_exceptions=True,
    )
    *stored, missing = results
    assert isinstance(missing, StoreError) and "999999" in str(missing)
    for feed_id, result in zip(feeds, stored, strict=True):
        assert not isinstance(result, BaseException)
        assert [new.entry_key for new in result.new] == [f"{feed_id}:{n}" for n in range(3)]
        assert len(result.alerts) == 3
    assert sum(counting.batches) == 31 and len(counting.batches) < 31
    assert count(store, "article") == 90 and store.outbox_counts().pending == 90


async def test_a_poll_arriving_just_after_another_joins_its_transaction(store: Store) -> None:
    first, second = primed_feed(store, "first"), primed_feed(store, "second")
    counting = CountingStore(store)
    ingester = Ingester(counting)  # type: ignore[arg-type]

    async def later(feed_id: int):
        await asyncio.sleep(0.01)  # parsed a moment after the first: well within the linger
        return await ingester.ingest(PollInput(feed_id, [entry(f"{feed_id}:1")], T0))

    results = await asyncio.gather(
        ingester.ingest(PollInput(first, [entry("a")], T0)), later(second)
    )
    assert [len(r.new) for r in results] == [1, 1]
    assert counting.batches == [2]
