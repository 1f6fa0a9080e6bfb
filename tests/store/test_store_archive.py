"""Stored articles read back with the verdicts they got when stored (for `watcher replay`)."""

from __future__ import annotations

import datetime as dt

from tests.store.builders import T0, add_feed, entry, primed_feed
from watcher.store import Store

HOUR = dt.timedelta(hours=1)


def test_stored_articles_come_back_oldest_first_with_their_stored_scores(store: Store) -> None:
    wire = primed_feed(store, "wire")
    desk = primed_feed(store, "desk")
    store.ingest(wire, [entry("guid:1", "Border patrols double", notifiers=("x",))], T0 + HOUR)
    store.ingest(desk, [entry("guid:2", "Harvest festival opens")], T0 + 2 * HOUR)

    stored = list(store.stored_articles())

    assert [(s.feed, s.article.title, s.matched) for s in stored] == [
        ("wire", "Border patrols double", {"border-security": 3.0}),
        ("desk", "Harvest festival opens", {}),
    ]
    assert stored[0].first_seen_at == T0 + HOUR
    assert stored[0].article.fetched_at == T0


def test_since_keeps_only_articles_first_seen_from_then_on(store: Store) -> None:
    wire = primed_feed(store)
    for hour in range(1, 5):
        store.ingest(wire, [entry(f"guid:{hour}")], T0 + hour * HOUR)

    titles = [s.article.title for s in store.stored_articles(T0 + 3 * HOUR)]

    assert titles == ["Story guid:3", "Story guid:4"]


def test_pages_cover_every_article_once(store: Store) -> None:
    wire = primed_feed(store)
    store.ingest(wire, [entry(f"guid:{n}", notifiers=("x",)) for n in range(7)], T0 + HOUR)

    stored = list(store.stored_articles(page=3))

    assert sorted(s.article.title for s in stored) == sorted(f"Story guid:{n}" for n in range(7))
    assert [s.id for s in stored] == sorted(s.id for s in stored)
    assert all(s.matched == {"border-security": 3.0} for s in stored)


def test_a_first_poll_that_only_marked_entries_seen_left_nothing_to_replay(store: Store) -> None:
    feed_id = add_feed(store, "wire")
    store.ingest(feed_id, [entry("guid:1", notifiers=("x",))], T0)

    assert list(store.stored_articles()) == []
