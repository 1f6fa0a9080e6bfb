"""Ingest: what counts as new, the quiet first poll, and all-or-nothing polls."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
import sqlalchemy as sa

from tests.store.builders import T0, add_feed, count, entry, primed_feed
from watcher.store import AlertSpec, FetchOutcome, PolledEntry, Store, StoreError, Validators
from watcher.store.schema import match, seen_entry

HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)


def test_new_entries_are_stored_once_even_across_restarts(
    open_store: Callable[[], Store],
) -> None:
    store = open_store()
    feed_id = primed_feed(store)
    poll = [entry("guid:1", notifiers=("desk",)), entry("guid:2", notifiers=("desk",))]
    first = store.ingest(feed_id, poll, T0 + HOUR)
    assert [new.entry_key for new in first.new] == ["guid:1", "guid:2"]
    assert len(first.alerts) == 2
    store.close()

    reopened = open_store()
    assert reopened.filter_new(feed_id, ["guid:1", "guid:2", "guid:3"]).keys == {"guid:3"}
    again = reopened.ingest(feed_id, [*poll, entry("guid:3", notifiers=("desk",))], T0 + 2 * HOUR)
    assert [new.entry_key for new in again.new] == ["guid:3"]
    assert [alert.notifier for alert in again.alerts] == ["desk"]
    assert reopened.outbox_counts().pending == 3


def test_reordered_and_redated_entries_do_not_alert_again(store: Store) -> None:
    feed_id = primed_feed(store)
    published = T0 - 3 * HOUR
    poll = [
        entry(f"guid:{i}", published=published + i * HOUR, notifiers=("desk",)) for i in range(3)
    ]
    store.ingest(feed_id, poll, T0)
    redated = [
        entry(f"guid:{i}", published=T0 + dt.timedelta(days=1), notifiers=("desk",))
        for i in reversed(range(3))
    ]
    result = store.ingest(feed_id, redated, T0 + HOUR)
    assert result.new == [] and result.alerts == []
    assert store.outbox_counts().pending == 3


def test_first_poll_marks_entries_seen_without_alerting(store: Store) -> None:
    feed_id = add_feed(store, "wire")
    assert store.filter_new(feed_id, ["guid:1"]).first_poll
    poll = [entry(f"guid:{i}", notifiers=("desk",)) for i in range(5)]
    result = store.ingest(feed_id, poll, T0)
    assert result.first_poll and result.new == [] and result.alerts == []
    assert sorted(result.quiet) == [f"guid:{i}" for i in range(5)]
    assert (count(store, "seen_entry"), count(store, "alert"), count(store, "article")) == (5, 0, 0)

    assert not store.filter_new(feed_id, ["guid:9"]).first_poll
    later = store.ingest(feed_id, [*poll, entry("guid:9", notifiers=("desk",))], T0 + HOUR)
    assert not later.first_poll
    assert [alert.notifier for alert in later.alerts] == ["desk"]


def test_an_empty_first_poll_still_counts_as_the_first(store: Store) -> None:
    feed_id = add_feed(store, "wire")
    assert store.ingest(feed_id, [], T0).first_poll
    assert len(store.ingest(feed_id, [entry("guid:1", notifiers=("desk",))], T0).alerts) == 1


def test_first_poll_may_alert_on_the_newest_entries(store: Store) -> None:
    feed_id = add_feed(store, "wire")
    poll = [
        entry("guid:old", published=T0 - 3 * HOUR, notifiers=("desk",)),
        entry("guid:undated", notifiers=("desk",)),
        entry("guid:newest", published=T0 - HOUR, notifiers=("desk",)),
        entry("guid:middle", published=T0 - 2 * HOUR, notifiers=("desk",)),
    ]
    result = store.ingest(feed_id, poll, T0, first_poll_alerts=2)
    assert {new.entry_key for new in result.new} == {"guid:newest", "guid:middle"}
    assert sorted(result.quiet) == ["guid:old", "guid:undated"]
    assert sorted(alert.article_id for alert in result.alerts) == sorted(
        new.article_id for new in result.new
    )


def test_every_entry_new_warns_of_missed_entries(store: Store) -> None:
    feed_id = primed_feed(store)
    first = store.ingest(feed_id, [entry("guid:1"), entry("guid:2")], T0)
    assert first.all_new
    second = store.ingest(feed_id, [entry("guid:3"), entry("guid:2")], T0 + HOUR)
    assert not second.all_new


def test_a_new_entry_dated_before_the_seen_ones_still_alerts(store: Store) -> None:
    # No date watermark: a story published late with an old date (a backdated correction, a
    # feed that dates items when written, not when published) is as new as any.
    feed_id = primed_feed(store)
    store.ingest(feed_id, [entry("guid:recent", published=T0)], T0)
    late = entry("guid:old", "Border patrols doubled", published=T0 - 30 * DAY, notifiers=("desk",))
    result = store.ingest(feed_id, [late, entry("guid:recent", published=T0)], T0 + HOUR)
    assert [new.entry_key for new in result.new] == ["guid:old"]
    assert len(result.alerts) == 1


def test_matches_and_alert_rows_hold_what_the_caller_computed(store: Store) -> None:
    feed_id = primed_feed(store)
    polled = entry("guid:1", "Border security talks resume", notifiers=("desk", "email"))
    result = store.ingest(feed_id, [polled], T0)
    assert {(a.notifier, a.rule_id, a.kind) for a in result.alerts} == {
        ("desk", "border-security", "immediate"),
        ("email", "border-security", "immediate"),
    }
    with store.engine.connect() as connection:
        stored = connection.execute(sa.select(match.c.rule_id, match.c.evidence)).one()
    assert stored.rule_id == "border-security"
    assert stored.evidence[0]["text"] == "Border"
    claimed = store.claim_pending_alerts("node", T0, limit=10)
    assert {row.payload["entry"] for row in claimed} == {"guid:1"}
    assert claimed[0].article is not None
    assert claimed[0].article.title == "Border security talks resume"


def test_a_key_listed_twice_in_one_poll_is_one_entry(store: Store) -> None:
    feed_id = primed_feed(store)
    result = store.ingest(
        feed_id, [entry("guid:1", "First"), entry("guid:1", "Second listing")], T0
    )
    assert result.listed == 1 and len(result.new) == 1


def test_the_fetch_outcome_commits_with_the_poll(store: Store) -> None:
    feed_id = primed_feed(store)
    store.claim_due_feeds("node", T0)
    fetch = FetchOutcome(200, T0 + HOUR, validators=Validators(etag='"abc"'))
    store.ingest(feed_id, [entry("guid:1")], T0, fetch=fetch)
    row = store.feed("wire")
    assert row is not None
    assert (row.etag, row.next_check_at, row.lease_owner) == ('"abc"', T0 + HOUR, None)
    assert store.feed_status()[0].last_new_at == T0
    assert store.feed_status()[0].entries_seen == 1


def test_seen_marks_and_alerts_commit_together(store: Store) -> None:
    """A failure while queuing alerts (after the seen marks, stories and articles were written)
    rolls back the seen marks, the articles and the fetch's
    validators too, so the next poll finds the entries new and queues their alerts."""
    feed_id = primed_feed(store)
    poll = [entry(f"guid:{i}", notifiers=("desk",)) for i in range(3)]
    fetch = FetchOutcome(200, T0 + HOUR, validators=Validators(etag='"v2"'))

    def fail_when_queuing(_conn, _cursor, statement: str, *_args) -> None:
        if statement.startswith("INSERT INTO alert"):
            raise RuntimeError("disk full")

    sa.event.listen(store.engine, "before_cursor_execute", fail_when_queuing)
    with pytest.raises(RuntimeError, match="disk full"):
        store.ingest(feed_id, poll, T0, fetch=fetch)
    sa.event.remove(store.engine, "before_cursor_execute", fail_when_queuing)

    assert (count(store, "seen_entry"), count(store, "article"), count(store, "alert")) == (0, 0, 0)
    row = store.feed("wire")
    assert row is not None and row.etag is None

    retry = store.ingest(feed_id, poll, T0 + HOUR, fetch=fetch)
    assert len(retry.new) == 3 and len(retry.alerts) == 3


def test_bad_input_is_refused_before_anything_is_written(store: Store) -> None:
    feed_id = primed_feed(store)
    bad = PolledEntry(
        "guid:2",
        entry("guid:2").article,
        alerts=[AlertSpec("desk", "border-security", payload={"when": T0})],
    )
    with pytest.raises(
        StoreError,
        match=r"feed 'wire', entry 'guid:2': alert for rule 'border-security' to 'desk': "
        r"payload is not JSON",
    ):
        store.ingest(feed_id, [entry("guid:1"), bad], T0)
    wrong_kind = PolledEntry(
        "guid:3",
        entry("guid:3").article,
        alerts=[AlertSpec("desk", "border-security", kind="urgent")],  # type: ignore[arg-type]
    )
    with pytest.raises(StoreError, match="kind 'urgent', expected immediate or digest"):
        store.ingest(feed_id, [wrong_kind], T0)
    assert count(store, "seen_entry") == 0


def test_polls_refresh_last_seen_of_entries_still_listed(store: Store) -> None:
    feed_id = primed_feed(store)
    store.ingest(feed_id, [entry("guid:1"), entry("guid:2")], T0)
    store.ingest(feed_id, [entry("guid:2")], T0 + HOUR)
    with store.engine.connect() as connection:
        rows = dict(
            connection.execute(sa.select(seen_entry.c.entry_key, seen_entry.c.last_seen_at)).all()
        )
    assert rows == {"guid:1": T0, "guid:2": T0 + HOUR}


def test_ingesting_into_an_unknown_feed_is_a_clear_error(store: Store) -> None:
    with pytest.raises(StoreError, match="feed id 42 is not in the store"):
        store.ingest(42, [entry("guid:1")], T0)
