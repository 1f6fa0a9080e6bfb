"""The outbox: leases, delivery outcomes, retries until dead, digests, throttle."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable

from tests.store.builders import T0, entry, primed_feed
from watcher.store import AlertSpec, PolledEntry, Store

MINUTE = dt.timedelta(minutes=1)


def queue(store: Store, *keys: str, notifiers: tuple[str, ...] = ("desk",)) -> list[int]:
    row = store.feed("wire")
    feed_id = row.id if row is not None else primed_feed(store)
    result = store.ingest(feed_id, [entry(key, notifiers=notifiers) for key in keys], T0)
    return [alert.alert_id for alert in result.alerts]


def test_claimed_alerts_are_leased_to_one_worker(store: Store) -> None:
    ids = queue(store, "guid:1", "guid:2")
    claimed = store.claim_pending_alerts("worker-1", T0, limit=10, lease_seconds=60)
    assert [row.id for row in claimed] == ids
    assert all(row.status == "pending" and row.attempts == 0 for row in claimed)
    assert store.claim_pending_alerts("worker-2", T0 + MINUTE / 2) == []
    # The first worker died: its lease runs out and the alerts are handed out again.
    assert len(store.claim_pending_alerts("worker-2", T0 + MINUTE)) == 2


def test_sent_alerts_are_not_claimed_again_and_keep_their_results(store: Store) -> None:
    [alert_id] = queue(store, "guid:1")
    store.claim_pending_alerts("worker", T0)
    results = [{"service": "mailto", "ok": True}]
    assert store.mark_sent(alert_id, results, T0 + MINUTE) == 1
    assert store.claim_pending_alerts("worker", T0 + dt.timedelta(days=1)) == []
    counts = store.outbox_counts()
    assert (counts.pending, counts.sent, counts.dead) == (0, 1, 0)
    assert store.mark_sent(alert_id, results, T0 + MINUTE) == 0


def test_failures_retry_with_backoff_then_die_with_the_error_kept(store: Store) -> None:
    [alert_id] = queue(store, "guid:1")
    now = T0
    statuses = []
    for attempt in range(1, 4):
        [row] = store.claim_pending_alerts("worker", now)
        assert row.attempts == attempt - 1
        retry_at = now + MINUTE * 2**attempt
        status = store.mark_failed(
            alert_id,
            owner="worker",
            error=f"SMTP 451 try {attempt}",
            results=[{"service": "mailto", "ok": False}],
            retry_at=retry_at,
            max_attempts=3,
        )
        statuses.append(status)
        if status == "pending":
            assert store.claim_pending_alerts("worker", retry_at - dt.timedelta(seconds=1)) == []
        now = retry_at
    assert statuses == ["pending", "pending", "dead"]
    assert store.claim_pending_alerts("worker", now + dt.timedelta(days=7)) == []
    counts = store.outbox_counts()
    assert (counts.pending, counts.dead) == (0, 1)
    [dead] = store.alerts("dead")
    assert (dead.id, dead.attempts, dead.last_error) == (alert_id, 3, "SMTP 451 try 3")
    assert dead.results == [{"service": "mailto", "ok": False}]


def test_a_worker_whose_lease_expired_cannot_fail_the_new_owners_alert(store: Store) -> None:
    [alert_id] = queue(store, "guid:1")
    store.claim_pending_alerts("slow", T0, lease_seconds=60)
    store.claim_pending_alerts("fast", T0 + 2 * MINUTE, lease_seconds=60)
    assert store.mark_sent(alert_id, None, T0 + 2 * MINUTE) == 1
    outcome = store.mark_failed(
        alert_id, owner="slow", error="timeout", results=None, retry_at=T0, max_attempts=5
    )
    assert outcome is None
    assert store.outbox_counts().sent == 1


def test_deferred_alerts_wait_without_spending_an_attempt(store: Store) -> None:
    ids = queue(store, "guid:1")
    store.claim_pending_alerts("worker", T0)
    quiet_until = T0 + dt.timedelta(hours=8)
    assert store.defer_alerts(ids, "worker", quiet_until) == 1
    assert store.claim_pending_alerts("worker", quiet_until - MINUTE) == []
    [row] = store.claim_pending_alerts("worker", quiet_until)
    assert row.attempts == 0


def test_digest_alerts_wait_for_their_digest(store: Store) -> None:
    feed_id = primed_feed(store)
    polled = entry("guid:1")
    digest_entry = PolledEntry(
        polled.entry_key,
        polled.article,
        alerts=[AlertSpec("morning", "sanctions", kind="digest", payload={"n": 1})],
    )
    store.ingest(feed_id, [digest_entry], T0)
    assert store.claim_pending_alerts("worker", T0 + MINUTE) == []
    assert store.oldest_pending_digest("morning") == T0
    assert store.oldest_pending_digest("evening") is None
    before = store.claim_pending_alerts(
        "digest-job", T0 + MINUTE, kind="digest", notifier="morning", created_by=T0 - MINUTE
    )
    assert before == []
    claimed = store.claim_pending_alerts(
        "digest-job", T0 + MINUTE, kind="digest", notifier="morning", created_by=T0 + MINUTE
    )
    [pending] = claimed
    assert pending.kind == "digest" and pending.payload == {"n": 1}
    assert store.mark_sent([pending.id], [{"ok": True}], T0 + MINUTE) == 1
    assert store.oldest_pending_digest("morning") is None


def test_throttle_holds_back_a_rules_second_immediate_alert_within_its_window(
    store: Store,
) -> None:
    feed_id = primed_feed(store)

    def throttled_entry(key: str, title: str) -> PolledEntry:
        base = entry(key, title)
        spec = AlertSpec("desk", "sanctions", throttle=dt.timedelta(minutes=30))
        return PolledEntry(key, base.article, alerts=[spec])

    first = store.ingest(feed_id, [throttled_entry("guid:1", "Sanctions widened on ships")], T0)
    assert len(first.alerts) == 1
    story = first.alerts[0].story_id
    assert store.throttled("sanctions", story, "desk", dt.timedelta(minutes=30), T0 + MINUTE)
    assert store.throttled("sanctions", None, "desk", dt.timedelta(minutes=30), T0 + MINUTE)
    assert not store.throttled("sanctions", None, "email", dt.timedelta(minutes=30), T0)

    soon = store.ingest(
        feed_id, [throttled_entry("guid:2", "Oil price jumps after refinery fire")], T0 + MINUTE
    )
    assert soon.alerts == [] and [s.reason for s in soon.skipped] == ["throttled"]
    later = store.ingest(
        feed_id,
        [throttled_entry("guid:3", "Central bank holds rates steady again")],
        T0 + dt.timedelta(minutes=31),
    )
    assert len(later.alerts) == 1


def test_two_workers_claiming_at_once_never_send_the_same_alert(
    open_store: Callable[[], Store],
) -> None:
    setup = open_store()
    ids = queue(setup, *(f"guid:{i}" for i in range(60)))
    workers = {"w1": open_store(), "w2": open_store()}
    claimed: dict[str, list[int]] = {name: [] for name in workers}
    start = threading.Barrier(2)

    def run(owner: str) -> None:
        start.wait()
        while batch := workers[owner].claim_pending_alerts(owner, T0, limit=3):
            claimed[owner].extend(row.id for row in batch)

    threads = [threading.Thread(target=run, args=(owner,)) for owner in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not set(claimed["w1"]) & set(claimed["w2"])
    assert sorted(claimed["w1"] + claimed["w2"]) == sorted(ids)


def test_release_leases_hands_alerts_back(store: Store) -> None:
    queue(store, "guid:1")
    store.claim_pending_alerts("stopping", T0, lease_seconds=600)
    store.release_leases("stopping")
    assert len(store.claim_pending_alerts("other", T0)) == 1


def test_counts_report_the_oldest_pending_alert(store: Store) -> None:
    assert store.outbox_counts().oldest_pending_at is None
    queue(store, "guid:1", "guid:2")
    counts = store.outbox_counts()
    assert (counts.pending, counts.oldest_pending_at) == (2, T0)
