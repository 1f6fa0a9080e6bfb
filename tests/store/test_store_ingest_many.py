"""Many polls in one transaction (`Store.ingest_many`): each poll gets the result it would get
alone, and a poll the store refuses does not take the others down."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest

from tests.store.builders import T0, add_feed, count, entry, primed_feed
from watcher.store import (
    AlertSpec,
    FetchOutcome,
    IngestResult,
    PolledEntry,
    PollInput,
    Store,
    StoreError,
    Validators,
)

HOUR = dt.timedelta(hours=1)


def _result(outcome: IngestResult | Exception) -> IngestResult:
    assert isinstance(outcome, IngestResult), outcome
    return outcome


def test_polls_of_many_feeds_store_together_as_they_would_alone(store: Store) -> None:
    wire, desk = primed_feed(store, "wire"), primed_feed(store, "desk")
    fresh = add_feed(store, "fresh")
    outcomes = store.ingest_many(
        [
            PollInput(wire, [entry("a", notifiers=("chat",)), entry("b")], T0 + HOUR),
            PollInput(desk, [entry("a", notifiers=("chat",))], T0 + HOUR),
            # A first poll in the same batch stays quiet.
            PollInput(fresh, [entry("c", notifiers=("chat",))], T0 + HOUR),
        ]
    )
    first, second, third = (_result(o) for o in outcomes)
    assert [n.entry_key for n in first.new] == ["a", "b"] and len(first.alerts) == 1
    assert [n.entry_key for n in second.new] == ["a"] and len(second.alerts) == 1
    assert third.first_poll and third.new == [] and third.quiet == ["c"]
    # The same key in two feeds is two entries: one seen row and one article each.
    assert (count(store, "seen_entry"), count(store, "article")) == (4, 3)
    assert store.filter_new(fresh, ["c", "d"]).keys == {"d"}


def test_a_refused_poll_leaves_the_others_of_its_batch_stored(store: Store) -> None:
    wire = primed_feed(store, "wire")
    bad = PolledEntry(
        "guid:2",
        entry("guid:2").article,
        alerts=[AlertSpec("chat", "border-security", payload={"when": T0})],
    )
    outcomes = store.ingest_many(
        [
            PollInput(42, [entry("x")], T0),
            PollInput(wire, [bad], T0),
            PollInput(wire, [entry("guid:1", notifiers=("chat",))], T0 + HOUR),
        ]
    )
    assert isinstance(outcomes[0], StoreError)
    assert str(outcomes[0]) == "feed id 42 is not in the store"
    assert isinstance(outcomes[1], StoreError) and "payload is not JSON" in str(outcomes[1])
    assert [n.entry_key for n in _result(outcomes[2]).new] == ["guid:1"]
    assert count(store, "seen_entry") == 1 and store.outbox_counts().pending == 1


def test_a_feed_polled_twice_in_one_batch_sees_its_earlier_poll(store: Store) -> None:
    wire = add_feed(store, "wire")
    outcomes = store.ingest_many(
        [
            PollInput(wire, [entry("a")], T0),
            PollInput(wire, [entry("a"), entry("b", notifiers=("chat",))], T0 + HOUR),
        ]
    )
    first, second = (_result(o) for o in outcomes)
    assert first.first_poll and first.quiet == ["a"]
    assert not second.first_poll and [n.entry_key for n in second.new] == ["b"]
    assert len(second.alerts) == 1


def test_fetch_outcomes_commit_with_their_polls(store: Store) -> None:
    wire, desk = primed_feed(store, "wire"), primed_feed(store, "desk")
    later = T0 + 2 * HOUR
    store.ingest_many(
        [
            PollInput(
                feed_id,
                [entry(f"{feed_id}:1")],
                T0 + HOUR,
                fetch=FetchOutcome(200, later, validators=Validators(etag=f'"{feed_id}"')),
            )
            for feed_id in (wire, desk)
        ]
    )
    for name, feed_id in (("wire", wire), ("desk", desk)):
        row = store.feed(name)
        assert row is not None and row.etag == f'"{feed_id}"' and row.next_check_at == later


@pytest.mark.postgres
def test_a_poll_the_database_rejects_fails_alone(open_store: Callable[[], Store]) -> None:
    """PostgreSQL refuses a NUL character in text, after our checks: the batch is then
    retried poll by poll, and only the poll that carried it fails."""
    store = open_store()
    if store.dialect != "postgresql":
        pytest.skip("SQLite stores NUL characters")
    wire, desk = primed_feed(store, "wire"), primed_feed(store, "desk")
    outcomes = store.ingest_many(
        [
            PollInput(wire, [entry("nul\x00key")], T0 + HOUR),
            PollInput(desk, [entry("fine", notifiers=("chat",))], T0 + HOUR),
        ]
    )
    assert isinstance(outcomes[0], Exception) and "NUL" in str(outcomes[0])
    assert [n.entry_key for n in _result(outcomes[1]).new] == ["fine"]
    assert count(store, "seen_entry") == 1 and store.outbox_counts().pending == 1


def test_a_poll_of_thousands_of_entries_is_stored_and_seen_whole(store: Store) -> None:
    """Each list (keys, URLs, band keys) goes to the database as one parameter, whatever its
    length: no variable limit, no chunking."""
    wire = primed_feed(store, "wire")
    listed = [
        entry(f"guid:{n}", f"Story number {n} about harbour works in district {n}",
              f"Council report {n} on dredging, cranes and quay walls for berth {n}",
              url=f"https://news.example/{n}", notifiers=("chat",))
        for n in range(1_200)
    ]  # fmt: skip
    first = store.ingest(wire, listed, T0 + HOUR)
    assert len(first.new) == 1_200 and len(first.alerts) == 1_200
    assert store.filter_new(wire, [e.entry_key for e in listed]).keys == frozenset()
    again = store.ingest(wire, listed, T0 + 2 * HOUR)
    assert again.new == [] and again.alerts == []


def test_keys_listed_as_seen_stay_seen_and_unknown_ones_are_only_marked(store: Store) -> None:
    """`seen_keys`: entries a feed lists again, by key alone. They count as listed, keep their
    seen marks fresh through retention, and one the store does not know alerts nothing."""
    wire = primed_feed(store, "wire")
    store.ingest(wire, [entry("a", notifiers=("chat",))], T0 + HOUR)
    later = T0 + 40 * 24 * HOUR
    [result] = store.ingest_many(
        [
            PollInput(
                wire,
                [entry("b", notifiers=("chat",))],
                later,
                seen_keys=["a", "b", "forgotten", "a"],
            )
        ]
    )
    result = _result(result)
    assert result.listed == 3  # a, b and forgotten, each once
    assert [n.entry_key for n in result.new] == ["b"] and len(result.alerts) == 1
    assert result.quiet == ["forgotten"]
    assert count(store, "article") == 2
    # Listed at the latest poll: retention keeps them (and "a" would be new again otherwise).
    store.prune(later + dt.timedelta(days=31), keep_days=30)
    assert store.filter_new(wire, ["a", "b", "forgotten", "c"]).keys == {"c"}


def test_an_empty_seen_key_is_refused_with_the_feed_named(store: Store) -> None:
    wire = primed_feed(store, "wire")
    [outcome] = store.ingest_many([PollInput(wire, [], T0, seen_keys=[""])])
    assert isinstance(outcome, StoreError) and "'wire'" in str(outcome)


def test_a_first_poll_only_is_refused_once_the_feed_has_been_primed(store: Store) -> None:
    """A poll parsed as the feed's first (its entries given as keys alone, to be marked seen)
    must not go in after another poll of the feed did: those entries may be new by then."""
    fresh = add_feed(store, "fresh")
    first_poll = PollInput(fresh, [], T0, seen_keys=["a", "b"], first_poll_only=True)
    # Two polls of the feed in one batch: the earlier primes it, the later is refused whole.
    outcomes = store.ingest_many(
        [
            PollInput(fresh, [entry("a")], T0),
            PollInput(fresh, [], T0, seen_keys=["c"], first_poll_only=True),
        ]
    )
    assert _result(outcomes[0]).first_poll
    assert isinstance(outcomes[1], StoreError)
    assert str(outcomes[1]) == (
        "feed 'fresh': parsed as its first poll, but another poll of it went in meanwhile; its "
        "entries are read at the next poll"
    )
    assert store.filter_new(fresh, ["a", "c"]).keys == {"c"}
    [refused] = store.ingest_many([first_poll])
    assert isinstance(refused, StoreError)
    assert store.filter_new(fresh, ["a", "b"]).keys == {"b"}
    # On a feed never polled it is the first poll: every key is marked seen, quietly.
    other = add_feed(store, "other")
    [accepted] = store.ingest_many(
        [PollInput(other, [], T0, seen_keys=["x"], first_poll_only=True)]
    )
    assert _result(accepted).quiet == ["x"] and _result(accepted).first_poll
    assert store.filter_new(other, ["x"]).keys == set()
