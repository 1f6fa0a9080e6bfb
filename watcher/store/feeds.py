"""Feed state: the configured feeds, their leases, and what their last fetch said (DESIGN §6, §8).

Every function runs inside a transaction the Store opened; writes inside a write transaction.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import Row, Select, Update, bindparam, func, or_, select, update
from sqlalchemy.engine import Connection

from watcher.store.errors import StoreError
from watcher.store.schema import feed, seen_entry
from watcher.store.sql import many, one_of
from watcher.store.values import (
    FeedConfigLike,
    FeedRow,
    FeedStatus,
    FetchEffect,
    FetchOutcome,
    SilenceCandidate,
    SyncResult,
)

GONE = 410

_NO_VALIDATORS = {"etag": None, "last_modified": None, "body_hash": None}


def sync_feeds(
    connection: Connection, configured: Sequence[FeedConfigLike], now: dt.datetime
) -> SyncResult:
    """Make the feed table follow the config, keeping the state of feeds that stay.

    Feeds are matched by name. A feed whose configured URL changed starts afresh (validators
    and errors cleared, due now, a 410 stop lifted) but keeps its seen entries. Feeds no longer
    configured are marked removed (never polled; their seen entries stay, so adding them back
    does not alert on old entries again).
    """
    wanted: dict[str, str] = {}
    for item in configured:
        if item.name in wanted:
            raise StoreError(f"feed {item.name!r} is configured twice; feed names must be unique")
        wanted[item.name] = item.url
    stored = {row.name: row for row in connection.execute(select(feed))}
    result = SyncResult()
    for name, url in wanted.items():
        row = stored.get(name)
        if row is None:
            connection.execute(
                feed.insert().values(
                    name=name, config_url=url, url=url, error_count=0, next_check_at=now,
                    added_at=now,
                )
            )  # fmt: skip
            result.added.append(name)
            continue
        changes: dict[str, object] = {}
        if row.removed_at is not None:
            changes["removed_at"] = None
            result.restored.append(name)
        if row.config_url != url:
            changes.update(
                _NO_VALIDATORS, config_url=url, url=url, error_count=0, last_error=None,
                disabled_reason=None, next_check_at=now,
            )  # fmt: skip
            result.changed_url.append(name)
        if changes:
            connection.execute(update(feed).where(feed.c.id == row.id).values(**changes))
    for name, row in stored.items():
        if name not in wanted and row.removed_at is None:
            connection.execute(
                update(feed)
                .where(feed.c.id == row.id)
                .values(removed_at=now, lease_owner=None, lease_until=None)
            )
            result.removed.append(name)
    return result


def claim_due_feeds(
    connection: Connection,
    owner: str,
    now: dt.datetime,
    limit: int,
    lease_seconds: float,
    due_by: dt.datetime,
) -> list[FeedRow]:
    """Lease up to `limit` active feeds due by `due_by` whose lease is free or expired.

    One statement: `UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED)`. PostgreSQL skips
    rows another node is claiming at that moment; SQLite runs it inside `BEGIN IMMEDIATE`,
    where no other writer exists. Either way no feed is leased to two owners at once.
    """
    due = (
        select(feed.c.id)
        .where(
            feed.c.removed_at.is_(None),
            feed.c.disabled_reason.is_(None),
            feed.c.next_check_at <= due_by,
            or_(feed.c.lease_until.is_(None), feed.c.lease_until <= now),
        )
        .order_by(feed.c.next_check_at, feed.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    rows = connection.execute(
        update(feed)
        .where(feed.c.id.in_(due.scalar_subquery()))
        .values(lease_owner=owner, lease_until=now + dt.timedelta(seconds=lease_seconds))
        .returning(*feed.c)
    ).all()
    return sorted((_feed_row(row) for row in rows), key=lambda f: (f.next_check_at, f.id))


def record_fetches(
    connection: Connection, fetches: Sequence[tuple[int, FetchOutcome, dt.datetime]]
) -> dict[int, StoreError]:
    """Store what each fetch said and release its feed's lease; a feed missing from the store
    is left out and named in the result.

    Which feeds exist is read first, because the rows an `executemany` changed are not counted
    per row on every backend, and the error count's update cannot be run twice.
    """
    if not fetches:
        return {}
    dialect = connection.dialect.name
    wanted = sorted({feed_id for feed_id, _, _ in fetches})
    existing = set(
        connection.execute(_existing_statement(dialect), {"ids": many(dialect, wanted)}).scalars()
    )
    missing = {
        feed_id: StoreError(f"feed id {feed_id} is not in the store")
        for feed_id in wanted
        if feed_id not in existing
    }
    record_fetches_of_known_feeds(connection, [f for f in fetches if f[0] not in missing])
    return missing


def record_fetches_of_known_feeds(
    connection: Connection, fetches: Sequence[tuple[int, FetchOutcome, dt.datetime]]
) -> None:
    """`record_fetches` for feeds the transaction has already found in the store.

    One `executemany` per run of fetches of the same kind (a poll cycle of 304s is one), in
    order: a feed recorded twice ends as its last fetch said.
    """
    runs: list[tuple[Update, list[dict[str, object]]]] = []
    for feed_id, outcome, now in fetches:
        statement = _record_statement(
            outcome.error is not None,
            outcome.status == GONE,
            outcome.validators is not None,
            outcome.effect,
            outcome.read_ttl,
        )
        if not runs or runs[-1][0] is not statement:
            runs.append((statement, []))
        runs[-1][1].append(_record_parameters(feed_id, outcome, now))
    for statement, parameters in runs:
        connection.execute(statement, parameters)
    for feed_id, outcome, _ in fetches:
        if outcome.moved_to is not None:
            update_feed_url(connection, feed_id, outcome.moved_to)


def _record_parameters(feed_id: int, outcome: FetchOutcome, now: dt.datetime) -> dict[str, object]:
    params: dict[str, object] = {
        "p_id": feed_id,
        "p_status": outcome.status,
        "p_error": outcome.error,
        "p_now": now,
        "p_next": outcome.next_check_at,
        "p_fetch_seconds": outcome.fetch_seconds,
        "p_late_seconds": outcome.late_seconds,
    }
    if outcome.status == GONE:
        params["p_disabled"] = outcome.error or "HTTP 410 Gone"
    if outcome.read_ttl:
        params["p_ttl"] = outcome.ttl_minutes
    if outcome.validators is not None:
        params.update(
            p_etag=outcome.validators.etag,
            p_last_modified=outcome.validators.last_modified,
            p_body_hash=outcome.validators.body_hash,
        )
    return params


@functools.cache
def _existing_statement(dialect: str) -> Select[Any]:
    return select(feed.c.id).where(one_of(feed.c.id, "ids", dialect))


@functools.cache
def _record_statement(
    failed: bool, gone: bool, validators: bool, effect: FetchEffect, read_ttl: bool
) -> Update:
    """One UPDATE per kind of outcome, built once: a poll cycle records a fetch per feed, and
    building the statement anew each time cost more than running it. The error count moves
    in the statement itself, so no read of the row comes first."""
    values: dict[str, object] = {
        "next_check_at": bindparam("p_next"),
        "lease_owner": None,
        "lease_until": None,
    }
    if effect != "not_fetched":
        values.update(
            last_status=bindparam("p_status"),
            last_error=bindparam("p_error"),
            last_polled_at=bindparam("p_now"),
            last_fetch_seconds=bindparam("p_fetch_seconds"),
            last_late_seconds=bindparam("p_late_seconds"),
        )
    if effect == "counted" and failed:
        values["error_count"] = feed.c.error_count + 1
    elif effect == "counted":
        values.update(error_count=0, last_success_at=bindparam("p_now"))
    if gone:
        values["disabled_reason"] = bindparam("p_disabled")
    if read_ttl:
        values["ttl_minutes"] = bindparam("p_ttl")
    if validators:
        values.update(
            etag=bindparam("p_etag"),
            last_modified=bindparam("p_last_modified"),
            body_hash=bindparam("p_body_hash"),
        )
    return update(feed).where(feed.c.id == bindparam("p_id")).values(**values)


def update_feed_url(connection: Connection, feed_id: int, url: str) -> None:
    """Poll `url` from now on (after a permanent redirect); the configured URL is kept, so a
    config change is still noticed."""
    connection.execute(update(feed).where(feed.c.id == feed_id).values(url=url))


def enable_feed(connection: Connection, name: str, now: dt.datetime) -> bool:
    """Lift a 410 stop and make the feed due now; False when no such feed is stopped."""
    result = connection.execute(
        update(feed)
        .where(feed.c.name == name, feed.c.disabled_reason.is_not(None))
        .values(disabled_reason=None, error_count=0, next_check_at=now)
    )
    return result.rowcount > 0


def feed_lease_owners(connection: Connection) -> set[str]:
    rows = connection.execute(select(feed.c.lease_owner).where(feed.c.lease_owner.is_not(None)))
    return set(rows.scalars())


def release_feed_leases(
    connection: Connection, owner: str, feed_ids: Collection[int] | None = None
) -> int:
    """Give back the feeds `owner` holds (only those of `feed_ids`, when given)."""
    held = feed.c.lease_owner == owner
    if feed_ids is not None:
        held = held & feed.c.id.in_(list(feed_ids))
    result = connection.execute(update(feed).where(held).values(lease_owner=None, lease_until=None))
    return result.rowcount


def feed_by_name(connection: Connection, name: str) -> FeedRow | None:
    row = connection.execute(select(feed).where(feed.c.name == name)).first()
    return _feed_row(row) if row is not None else None


def feed_status(connection: Connection) -> list[FeedStatus]:
    counts = (
        select(seen_entry.c.feed_id, func.count().label("entries"))
        .group_by(seen_entry.c.feed_id)
        .subquery()
    )
    rows = connection.execute(
        select(feed, func.coalesce(counts.c.entries, 0).label("entries"))
        .outerjoin(counts, counts.c.feed_id == feed.c.id)
        .order_by(feed.c.name)
    )
    return [
        FeedStatus(
            name=row.name,
            url=row.url,
            last_polled_at=row.last_polled_at,
            last_success_at=row.last_success_at,
            last_new_at=row.last_new_at,
            last_status=row.last_status,
            last_error=row.last_error,
            error_count=row.error_count,
            next_check_at=row.next_check_at,
            disabled_reason=row.disabled_reason,
            removed_at=row.removed_at,
            leased_by=row.lease_owner,
            entries_seen=row.entries,
            last_fetch_seconds=row.last_fetch_seconds,
            last_late_seconds=row.last_late_seconds,
            silent_since=row.silent_since,
        )
        for row in rows
    ]


def _feed_row(row: Row) -> FeedRow:
    return FeedRow(
        id=row.id,
        name=row.name,
        url=row.url,
        etag=row.etag,
        last_modified=row.last_modified,
        body_hash=row.body_hash,
        last_status=row.last_status,
        error_count=row.error_count,
        next_check_at=row.next_check_at,
        last_success_at=row.last_success_at,
        added_at=row.added_at,
        ttl_minutes=row.ttl_minutes,
        lease_owner=row.lease_owner,
        lease_until=row.lease_until,
        listed_at=row.listed_at,
    )


def silence_candidates(connection: Connection) -> list[SilenceCandidate]:
    """Every feed that polls fine (no error, not stopped or removed) and has had its first
    poll, with the times its remembered entries arrived: those of the retention window, and
    older ones the feed still lists (so a feed posting weekly keeps months of its rhythm)."""
    healthy = (
        feed.c.removed_at.is_(None),
        feed.c.disabled_reason.is_(None),
        feed.c.last_error.is_(None),
        feed.c.primed_at.is_not(None),
    )
    arrived: dict[int, list[dt.datetime]] = {}
    for feed_id, first_seen_at in connection.execute(
        select(seen_entry.c.feed_id, seen_entry.c.first_seen_at)
        .join(feed, feed.c.id == seen_entry.c.feed_id)
        .where(*healthy, seen_entry.c.first_seen_at > feed.c.primed_at)
        .group_by(seen_entry.c.feed_id, seen_entry.c.first_seen_at)
        .order_by(seen_entry.c.feed_id, seen_entry.c.first_seen_at)
    ):
        arrived.setdefault(feed_id, []).append(first_seen_at)
    rows = connection.execute(
        select(
            feed.c.id,
            feed.c.name,
            func.coalesce(feed.c.last_new_at, feed.c.primed_at).label("last_arrival"),
            feed.c.silent_since,
        )
        .where(*healthy)
        .order_by(feed.c.name)
    )
    return [
        SilenceCandidate(
            row.id,
            row.name,
            row.last_arrival,
            row.silent_since,
            tuple(arrived.get(row.id, ())),
        )
        for row in rows
    ]


def mark_silent(connection: Connection, feed_id: int, since: dt.datetime) -> bool:
    """Record that the feed was found silent at `since`; False when it already was (another
    node sharing the store found it first, and tells)."""
    result = connection.execute(
        update(feed)
        .where(feed.c.id == feed_id, feed.c.silent_since.is_(None))
        .values(silent_since=since)
    )
    return result.rowcount == 1
