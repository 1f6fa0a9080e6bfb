"""Retention: old rows go, nothing that would make an entry new again or lose an alert."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.store.builders import T0, count, entry, primed_feed
from watcher.store import FetchOutcome, Store, StoreError

DAY = dt.timedelta(days=1)


def test_entries_the_feed_still_lists_are_kept_however_old(store: Store) -> None:
    feed_id = primed_feed(store)
    store.ingest(feed_id, [entry("guid:evergreen"), entry("guid:gone")], T0)
    store.ingest(feed_id, [entry("guid:evergreen")], T0 + DAY)
    # Then the feed answers 304 for two months: no ingest, the listing is unchanged.
    for day in range(2, 60):
        store.record_fetch(feed_id, FetchOutcome(304, T0 + (day + 1) * DAY), T0 + day * DAY)

    result = store.prune(T0 + 60 * DAY, keep_days=30)
    assert result.seen_entries == 1
    assert store.filter_new(feed_id, ["guid:evergreen", "guid:gone"]).keys == {"guid:gone"}
    again = store.ingest(feed_id, [entry("guid:evergreen", notifiers=("desk",))], T0 + 61 * DAY)
    assert again.new == [] and again.alerts == []


def test_recently_dropped_entries_are_remembered(store: Store) -> None:
    feed_id = primed_feed(store)
    store.ingest(feed_id, [entry("guid:1")], T0)
    store.ingest(feed_id, [entry("guid:2")], T0 + 10 * DAY)
    store.prune(T0 + 20 * DAY, keep_days=30)
    assert store.filter_new(feed_id, ["guid:1"]).keys == frozenset()


def test_old_articles_stories_and_delivered_alerts_go(store: Store) -> None:
    feed_id = primed_feed(store)
    result = store.ingest(feed_id, [entry("guid:1", notifiers=("desk",))], T0)
    store.claim_pending_alerts("worker", T0)
    store.mark_sent(result.alerts[0].alert_id, None, T0)
    store.ingest(feed_id, [entry("guid:2")], T0 + 40 * DAY)

    pruned = store.prune(T0 + 40 * DAY, keep_days=30)
    assert (pruned.alerts, pruned.articles, pruned.stories, pruned.seen_entries) == (1, 1, 1, 1)
    assert (count(store, "article"), count(store, "match"), count(store, "story")) == (1, 0, 1)


def test_pending_alerts_and_what_they_point_to_are_never_pruned(store: Store) -> None:
    feed_id = primed_feed(store)
    result = store.ingest(feed_id, [entry("guid:1", notifiers=("desk",))], T0)
    store.ingest(feed_id, [], T0 + DAY)  # the entry leaves the feed
    pruned = store.prune(T0 + 90 * DAY, keep_days=30)
    assert (pruned.alerts, pruned.articles, pruned.stories, pruned.seen_entries) == (0, 0, 0, 0)
    [row] = store.claim_pending_alerts("worker", T0 + 90 * DAY)
    assert row.id == result.alerts[0].alert_id
    assert row.article is not None and row.article.title == "Story guid:1"
    assert store.story_sources(result.alerts[0].story_id)[0].feed == "wire"


def test_retention_must_be_positive(store: Store) -> None:
    with pytest.raises(StoreError, match="positive number of days, got 0"):
        store.prune(T0, keep_days=0)
