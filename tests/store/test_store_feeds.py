"""Feed state: syncing with the config, leases, fetch outcomes, status."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable

import pytest

from tests.store.builders import T0, FeedConfig, add_feed, entry
from watcher.store import FetchOutcome, PollInput, Store, StoreError, Validators

MINUTE = dt.timedelta(minutes=1)


def configs(*names: str) -> list[FeedConfig]:
    return [FeedConfig(name, f"https://{name}.example/rss") for name in names]


def test_sync_adds_keeps_removes_and_restores(store: Store) -> None:
    first = store.sync_feeds(configs("aa", "trt"), T0)
    assert sorted(first.added) == ["aa", "trt"]
    aa = store.feed("aa")
    assert aa is not None
    store.record_fetch(
        aa.id, FetchOutcome(200, T0 + MINUTE, validators=Validators(etag='"v1"')), T0
    )

    second = store.sync_feeds(configs("aa"), T0 + MINUTE)
    assert second.removed == ["trt"] and not second.added
    kept = store.feed("aa")
    assert kept is not None and kept.etag == '"v1"' and kept.id == aa.id
    removed = {status.name: status.removed_at for status in store.feed_status()}
    assert removed == {"aa": None, "trt": T0 + MINUTE}

    third = store.sync_feeds(configs("aa", "trt"), T0 + 2 * MINUTE)
    assert third.restored == ["trt"]


def test_removed_feeds_are_not_claimed(store: Store) -> None:
    store.sync_feeds(configs("aa", "trt"), T0)
    store.sync_feeds(configs("aa"), T0)
    assert [row.name for row in store.claim_due_feeds("node", T0)] == ["aa"]


def test_a_changed_url_starts_the_feed_afresh(store: Store) -> None:
    feed_id = add_feed(store, "aa")
    store.record_fetch(
        feed_id,
        FetchOutcome(200, T0 + dt.timedelta(hours=1), validators=Validators("e", "lm", "h")),
        T0,
    )
    result = store.sync_feeds([FeedConfig("aa", "https://aa.example/new.xml")], T0 + MINUTE)
    assert result.changed_url == ["aa"]
    row = store.feed("aa")
    assert row is not None
    assert (row.url, row.etag, row.last_modified, row.body_hash) == (
        "https://aa.example/new.xml", None, None, None
    )  # fmt: skip
    assert row.next_check_at == T0 + MINUTE


def test_a_permanent_redirect_survives_the_next_sync(store: Store) -> None:
    feed_id = add_feed(store, "aa")
    store.record_fetch(
        feed_id, FetchOutcome(200, T0 + MINUTE, moved_to="https://aa.example/feed/"), T0
    )
    store.sync_feeds(configs("aa"), T0 + MINUTE)
    row = store.feed("aa")
    assert row is not None and row.url == "https://aa.example/feed/"


def test_duplicate_feed_names_are_refused(store: Store) -> None:
    with pytest.raises(StoreError, match="feed 'aa' is configured twice"):
        store.sync_feeds(configs("aa", "aa"), T0)


def test_claims_only_due_feeds_in_due_order_and_leases_them(store: Store) -> None:
    store.sync_feeds(configs("aa", "bb", "cc"), T0)
    for name, minutes in (("aa", 5), ("bb", 1), ("cc", 30)):
        row = store.feed(name)
        assert row is not None
        store.record_fetch(row.id, FetchOutcome(200, T0 + minutes * MINUTE), T0)

    claimed = store.claim_due_feeds("node-1", T0 + 10 * MINUTE, lease_seconds=60)
    assert [row.name for row in claimed] == ["bb", "aa"]
    assert {row.lease_owner for row in claimed} == {"node-1"}
    assert store.claim_due_feeds("node-2", T0 + 10 * MINUTE) == []


def test_an_expired_lease_can_be_claimed_again(store: Store) -> None:
    add_feed(store, "aa")
    assert len(store.claim_due_feeds("crashed-node", T0, lease_seconds=120)) == 1
    assert store.claim_due_feeds("node-2", T0 + MINUTE) == []
    taken = store.claim_due_feeds("node-2", T0 + 2 * MINUTE)
    assert [row.lease_owner for row in taken] == ["node-2"]


def test_record_fetch_releases_the_lease(store: Store) -> None:
    feed_id = add_feed(store, "aa")
    store.claim_due_feeds("node", T0, lease_seconds=600)
    store.record_fetch(feed_id, FetchOutcome(304, T0), T0)
    assert [row.id for row in store.claim_due_feeds("other", T0)] == [feed_id]


def test_release_leases_on_shutdown(store: Store) -> None:
    add_feed(store, "aa")
    store.claim_due_feeds("stopping-node", T0, lease_seconds=600)
    store.release_leases("stopping-node")
    assert len(store.claim_due_feeds("other", T0)) == 1


def test_poll_once_claims_feeds_that_are_not_due_yet(store: Store) -> None:
    feed_id = add_feed(store, "aa")
    store.record_fetch(feed_id, FetchOutcome(200, T0 + dt.timedelta(hours=2)), T0)
    assert store.claim_due_feeds("cli", T0) == []
    everything = store.claim_due_feeds("cli", T0, due_by=T0 + dt.timedelta(days=365))
    assert [row.id for row in everything] == [feed_id]


def test_a_claimed_feed_says_when_its_entries_were_last_listed(store: Store) -> None:
    """The poller trusts its own memory of a feed's entries only while `listed_at` is the
    exact instant of its own last ingest, so the instant must come back unchanged."""
    feed_id = add_feed(store, "wire")
    [row] = store.claim_due_feeds("node", T0)
    assert row.listed_at is None
    polled_at = T0 + dt.timedelta(minutes=3, seconds=7, microseconds=123_457)
    store.ingest(feed_id, [], polled_at, fetch=FetchOutcome(200, T0))
    [row] = store.claim_due_feeds("node", T0 + dt.timedelta(hours=1))
    assert row.listed_at == polled_at
    assert row.listed_at.utcoffset() == dt.timedelta(0)


def test_the_latest_listing_of_a_feed_is_read_back_by_its_instant(store: Store) -> None:
    feed_id = add_feed(store, "wire")
    store.ingest_many([PollInput(feed_id, [entry("a"), entry("b")], T0)])
    later = T0 + dt.timedelta(minutes=5, microseconds=250_001)
    store.ingest_many([PollInput(feed_id, [entry("c")], later, seen_keys=["b"])])
    [row] = store.claim_due_feeds("node", later)
    assert row.listed_at == later
    assert store.latest_listing(feed_id, row.listed_at) == {"b", "c"}
    assert store.latest_listing(feed_id, T0) == {"a"}


def test_errors_count_up_and_a_success_resets_them(store: Store) -> None:
    feed_id = add_feed(store, "aa")
    for attempt in range(3):
        store.record_fetch(
            feed_id, FetchOutcome(503, T0 + MINUTE, error="HTTP 503 Service Unavailable"), T0
        )
        row = store.feed("aa")
        assert row is not None and row.error_count == attempt + 1
    status = store.feed_status()[0]
    assert (status.last_status, status.last_error) == (503, "HTTP 503 Service Unavailable")
    assert status.disabled_reason is None  # errors back off, they never stop a feed

    store.record_fetch(feed_id, FetchOutcome(200, T0 + MINUTE), T0 + MINUTE)
    status = store.feed_status()[0]
    assert (status.error_count, status.last_error, status.last_success_at) == (
        0, None, T0 + MINUTE
    )  # fmt: skip


def test_a_304_keeps_the_validators_and_a_200_replaces_them(store: Store) -> None:
    feed_id = add_feed(store, "aa")
    store.record_fetch(
        feed_id, FetchOutcome(200, T0, validators=Validators('"e1"', "Tue, 20 May", "h1")), T0
    )
    store.record_fetch(feed_id, FetchOutcome(304, T0), T0)
    row = store.feed("aa")
    assert row is not None and (row.etag, row.last_modified, row.body_hash) == (
        '"e1"', "Tue, 20 May", "h1"
    )  # fmt: skip
    store.record_fetch(feed_id, FetchOutcome(200, T0, validators=Validators(body_hash="h2")), T0)
    row = store.feed("aa")
    assert row is not None and (row.etag, row.last_modified, row.body_hash) == (None, None, "h2")


def test_410_stops_the_feed_with_its_reason_until_enabled(store: Store) -> None:
    feed_id = add_feed(store, "aa")
    store.record_fetch(feed_id, FetchOutcome(410, T0 + MINUTE, error="HTTP 410 Gone"), T0)
    assert store.feed_status()[0].disabled_reason == "HTTP 410 Gone"
    assert store.claim_due_feeds("node", T0 + dt.timedelta(days=30)) == []
    assert store.enable_feed("aa", T0 + MINUTE)
    assert [row.id for row in store.claim_due_feeds("node", T0 + MINUTE)] == [feed_id]


def test_unknown_feed_id_is_a_clear_error(store: Store) -> None:
    with pytest.raises(StoreError, match="feed id 999 is not in the store"):
        store.record_fetch(999, FetchOutcome(200, T0), T0)


def test_a_batch_of_fetches_is_recorded_in_order_and_names_the_missing_feeds(
    store: Store,
) -> None:
    ids = {name: add_feed(store, name) for name in ("aa", "bb", "cc", "dd")}
    failed = FetchOutcome(503, T0 + MINUTE, error="HTTP 503 Service Unavailable")
    missing = store.record_fetches(
        [
            (ids["aa"], failed, T0),
            (ids["aa"], failed, T0),
            (ids["bb"], failed, T0),
            (ids["aa"], FetchOutcome(304, T0 + MINUTE), T0),
            (999, FetchOutcome(304, T0), T0),
            (ids["aa"], failed, T0),  # after the 304: one error since the last success
            (ids["bb"], failed, T0),
            (ids["cc"], FetchOutcome(410, T0 + MINUTE, error="HTTP 410 Gone"), T0),
            (ids["dd"], FetchOutcome(304, T0 + MINUTE, moved_to="https://dd.example/new"), T0),
        ]
    )
    assert list(missing) == [999] and "feed id 999 is not in the store" in str(missing[999])
    status = {row.name: row for row in store.feed_status()}
    assert (status["aa"].error_count, status["aa"].last_status) == (1, 503)
    assert (status["bb"].error_count, status["bb"].last_status) == (2, 503)
    assert status["cc"].disabled_reason == "HTTP 410 Gone"
    assert status["dd"].url == "https://dd.example/new"


@pytest.mark.parametrize("limit", [1, 7])
def test_two_nodes_claiming_at_once_never_get_the_same_feed(
    open_store: Callable[[], Store], limit: int
) -> None:
    """Two stores on one database (two nodes) race to claim 120 due feeds."""
    setup = open_store()
    setup.sync_feeds(configs(*(f"feed{i:03}" for i in range(120))), T0)
    nodes = {"node-a": open_store(), "node-b": open_store()}
    claimed: dict[str, list[int]] = {name: [] for name in nodes}
    errors: list[BaseException] = []
    start = threading.Barrier(len(nodes))

    def run(owner: str) -> None:
        try:
            start.wait()
            while batch := nodes[owner].claim_due_feeds(owner, T0, limit=limit):
                claimed[owner].extend(row.id for row in batch)
        except BaseException as error:  # the assertion below reports it
            errors.append(error)

    threads = [threading.Thread(target=run, args=(owner,)) for owner in nodes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    a, b = claimed["node-a"], claimed["node-b"]
    assert not set(a) & set(b)
    assert len(a) + len(b) == 120 == len(set(a) | set(b))


def test_status_lists_every_feed_with_its_state(store: Store) -> None:
    feed_id = add_feed(store, "aa")
    add_feed(store, "bb")
    store.claim_due_feeds("node-1", T0)
    store.record_fetch(feed_id, FetchOutcome(200, T0 + MINUTE), T0)
    by_name = {status.name: status for status in store.feed_status()}
    assert list(by_name) == ["aa", "bb"]
    assert by_name["aa"].last_polled_at == T0 and by_name["aa"].leased_by is None
    assert by_name["bb"].leased_by == "node-1" and by_name["bb"].last_polled_at is None
    assert by_name["aa"].entries_seen == 0


def test_status_tells_how_long_the_last_fetch_took_and_how_late_it_started(store: Store) -> None:
    feed_id = add_feed(store, "aa")
    timed = FetchOutcome(200, T0 + MINUTE, fetch_seconds=2.5, late_seconds=260.0)
    store.record_fetch(feed_id, timed, T0)
    [after_the_poll] = store.feed_status()
    # A poll its host's cool-down held back sent nothing: the last real fetch's times stay.
    store.record_fetch(feed_id, FetchOutcome(200, T0 + 2 * MINUTE, effect="not_fetched"), T0)
    [held_back] = store.feed_status()

    assert (after_the_poll.last_fetch_seconds, after_the_poll.last_late_seconds) == (2.5, 260.0)
    assert (held_back.last_fetch_seconds, held_back.last_late_seconds) == (2.5, 260.0)
