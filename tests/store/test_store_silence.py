"""What the silent-feed check reads from the store: when each feed's new entries arrived."""

from __future__ import annotations

import datetime as dt

from tests.store.builders import T0, add_feed, entry
from watcher.store import FetchOutcome, IngestResult, PollInput, Store

HOUR = dt.timedelta(hours=1)


def candidates(store: Store) -> dict:
    return {candidate.name: candidate for candidate in store.silence_candidates()}


def test_arrivals_are_the_polls_that_brought_new_entries_after_the_first(store: Store) -> None:
    feed_id = add_feed(store, "wire")
    store.ingest(feed_id, [entry("guid:1"), entry("guid:2")], T0)  # the first poll: only marks
    store.ingest(feed_id, [entry("guid:1"), entry("guid:3"), entry("guid:4")], T0 + HOUR)
    store.ingest(feed_id, [entry("guid:3"), entry("guid:4")], T0 + 2 * HOUR)  # nothing new
    store.ingest(feed_id, [entry("guid:5")], T0 + 5 * HOUR)

    [wire] = store.silence_candidates()
    # Past the retention, what the feed no longer lists is forgotten; what it lists is kept.
    store.prune(T0 + 40 * 24 * HOUR, keep_days=30)
    [later] = store.silence_candidates()

    assert wire.arrivals == (T0 + HOUR, T0 + 5 * HOUR)
    assert wire.last_arrival == T0 + 5 * HOUR
    assert later.arrivals == (T0 + 5 * HOUR,)


def test_a_feed_with_nothing_new_since_its_first_poll_is_silent_since_then(store: Store) -> None:
    feed_id = add_feed(store, "wire")
    add_feed(store, "never-polled")
    store.ingest(feed_id, [entry("guid:1")], T0)

    found = candidates(store)

    assert list(found) == ["wire"]
    assert (found["wire"].last_arrival, found["wire"].arrivals) == (T0, ())


def test_a_failing_feed_is_no_candidate_it_is_reported_as_broken(store: Store) -> None:
    feed_id = add_feed(store, "wire")
    store.ingest(feed_id, [entry("guid:1")], T0)
    store.record_fetch(feed_id, FetchOutcome(500, T0 + HOUR, error="HTTP 500"), T0 + HOUR)

    assert candidates(store) == {}


def test_a_silent_mark_stays_until_a_new_entry_ends_it_and_says_so(store: Store) -> None:
    feed_id = add_feed(store, "wire")
    store.ingest(feed_id, [entry("guid:1")], T0)
    first = store.mark_silent(feed_id, T0 + 3 * HOUR)
    # Another node sharing the store finds it silent too: only the first one tells.
    second = store.mark_silent(feed_id, T0 + 3 * HOUR + dt.timedelta(seconds=1))
    same = store.ingest(feed_id, [entry("guid:1")], T0 + 4 * HOUR)
    still = candidates(store)["wire"].silent_since
    ended = store.ingest(feed_id, [entry("guid:1"), entry("guid:2")], T0 + 5 * HOUR)
    later = store.ingest(feed_id, [entry("guid:3")], T0 + 6 * HOUR)

    assert (first, second) == (True, False)
    assert (same.silence_ended, still) == (None, T0 + 3 * HOUR)
    assert ended.silence_ended == T0 + 3 * HOUR
    assert later.silence_ended is None
    assert candidates(store)["wire"].silent_since is None


def test_two_polls_stored_together_end_a_silence_once(store: Store) -> None:
    feed_id = add_feed(store, "wire")
    store.ingest(feed_id, [entry("guid:1")], T0)
    store.mark_silent(feed_id, T0 + 3 * HOUR)

    first, second = store.ingest_many(
        [
            PollInput(feed_id, [entry("guid:2")], T0 + 4 * HOUR),
            PollInput(feed_id, [entry("guid:2"), entry("guid:3")], T0 + 4 * HOUR),
        ]
    )

    assert isinstance(first, IngestResult) and isinstance(second, IngestResult)
    assert (first.silence_ended, second.silence_ended) == (T0 + 3 * HOUR, None)
