"""The alert outbox (DESIGN §6, research/reliability.md §7.2–7.4).

Rows are queued by ingest in the same transaction that marks their entries seen, then leased by
a delivery worker, sent, and marked `sent`, or retried with backoff until `dead`. Delivery is
at least once: the one duplicate window is a crash after sending and before `mark_sent`.
Every function runs inside a transaction the Store opened.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, func, or_, select, update
from sqlalchemy.engine import Connection

from watcher.article import Article
from watcher.store.schema import alert, article
from watcher.store.values import AlertKind, AlertRow, AlertStatus, OutboxCounts


def dedup_key(notifier: str, rule_id: str, story_id: int) -> str:
    """The idempotency key of an alert: one per (notifier, rule, story), the same every time.

    Also the id to hand to receivers (an `X-Idempotency-Key` header, a footer line) so that
    they can drop the rare duplicate delivery themselves.
    """
    triple = json.dumps([notifier, rule_id, story_id], ensure_ascii=False)
    return hashlib.sha256(triple.encode("utf-8")).hexdigest()


def throttled(
    connection: Connection,
    notifier: str,
    rule_id: str,
    window: dt.timedelta,
    now: dt.datetime,
    story_id: int | None = None,
) -> bool:
    """Whether an immediate alert for this notifier and rule (and story, when given) was queued
    within `window` before `now`, whatever became of it."""
    query = select(alert.c.id).where(
        alert.c.notifier == notifier,
        alert.c.rule_id == rule_id,
        alert.c.kind == "immediate",
        alert.c.created_at > now - window,
        alert.c.created_at <= now,
    )
    if story_id is not None:
        query = query.where(alert.c.story_id == story_id)
    return connection.execute(query.limit(1)).first() is not None


def claim_pending_alerts(
    connection: Connection,
    owner: str,
    now: dt.datetime,
    limit: int,
    lease_seconds: float,
    kind: AlertKind,
    notifier: str | None,
    created_by: dt.datetime | None,
) -> list[AlertRow]:
    """Lease pending alerts that are due and not leased by someone else (expired leases count
    as free: their owner crashed or hung). `FOR UPDATE SKIP LOCKED` on PostgreSQL."""
    due = select(alert.c.id).where(
        alert.c.status == "pending",
        alert.c.kind == kind,
        alert.c.next_attempt_at <= now,
        or_(alert.c.lease_until.is_(None), alert.c.lease_until <= now),
    )
    if notifier is not None:
        due = due.where(alert.c.notifier == notifier)
    if created_by is not None:
        due = due.where(alert.c.created_at <= created_by)
    due = due.order_by(alert.c.next_attempt_at, alert.c.id).limit(limit)
    claimed = connection.execute(
        update(alert)
        .where(alert.c.id.in_(due.with_for_update(skip_locked=True).scalar_subquery()))
        .values(lease_owner=owner, lease_until=now + dt.timedelta(seconds=lease_seconds))
        .returning(alert.c.id)
    ).scalars()
    return alerts_by_id(connection, list(claimed))


def oldest_pending_digest(connection: Connection, notifier: str) -> dt.datetime | None:
    """When the oldest digest alert still waiting for `notifier` was queued (None: none)."""
    return connection.execute(
        select(func.min(alert.c.created_at)).where(
            alert.c.status == "pending", alert.c.kind == "digest", alert.c.notifier == notifier
        )
    ).scalar_one()


def alerts_with_status(connection: Connection, status: AlertStatus, limit: int) -> list[AlertRow]:
    """The newest alerts in one status (dead ones for an operator, with their last error)."""
    ids = connection.execute(
        select(alert.c.id)
        .where(alert.c.status == status)
        .order_by(alert.c.created_at.desc(), alert.c.id.desc())
        .limit(limit)
    ).scalars()
    return sorted(alerts_by_id(connection, list(ids)), key=lambda row: row.id, reverse=True)


def mark_sent(
    connection: Connection, alert_ids: Sequence[int], results: list[Any] | None, now: dt.datetime
) -> int:
    """Mark alerts delivered (the last error is kept for the record); returns how many were
    still pending. Not tied to the lease: the message went out, whoever holds the row now."""
    result = connection.execute(
        update(alert)
        .where(alert.c.id.in_(alert_ids), alert.c.status == "pending")
        .values(status="sent", sent_at=now, results=results, lease_owner=None, lease_until=None)
    )
    return result.rowcount


def mark_failed(
    connection: Connection,
    alert_id: int,
    owner: str,
    error: str,
    results: list[Any] | None,
    retry_at: dt.datetime,
    max_attempts: int,
) -> str | None:
    """Count a failed delivery attempt: back to pending until `retry_at`, or `dead` once
    `max_attempts` attempts failed. Returns the new status, or None when the row is no longer
    pending under `owner`'s lease (its lease expired and another worker took it)."""
    row = connection.execute(
        select(alert.c.attempts)
        .where(alert.c.id == alert_id, alert.c.status == "pending", alert.c.lease_owner == owner)
        .with_for_update()
    ).first()
    if row is None:
        return None
    attempts = row.attempts + 1
    status = "dead" if attempts >= max_attempts else "pending"
    connection.execute(
        update(alert)
        .where(alert.c.id == alert_id)
        .values(
            attempts=attempts,
            status=status,
            last_error=error,
            results=results,
            next_attempt_at=retry_at,
            lease_owner=None,
            lease_until=None,
        )
    )
    return status


def defer_alerts(
    connection: Connection, alert_ids: Sequence[int], owner: str, until: dt.datetime
) -> int:
    """Hold leased alerts until `until` without counting an attempt (quiet hours, pacing)."""
    result = connection.execute(
        update(alert)
        .where(alert.c.id.in_(alert_ids), alert.c.status == "pending", alert.c.lease_owner == owner)
        .values(next_attempt_at=until, lease_owner=None, lease_until=None)
    )
    return result.rowcount


def alert_lease_owners(connection: Connection) -> set[str]:
    rows = connection.execute(
        select(alert.c.lease_owner).where(
            alert.c.lease_owner.is_not(None), alert.c.status == "pending"
        )
    )
    return set(rows.scalars())


def release_alert_leases(connection: Connection, owner: str) -> int:
    result = connection.execute(
        update(alert)
        .where(alert.c.lease_owner == owner, alert.c.status == "pending")
        .values(lease_owner=None, lease_until=None)
    )
    return result.rowcount


def outbox_counts(connection: Connection) -> OutboxCounts:
    counts = dict(
        connection.execute(select(alert.c.status, func.count()).group_by(alert.c.status)).all()
    )
    oldest = connection.execute(
        select(func.min(alert.c.created_at)).where(alert.c.status == "pending")
    ).scalar()
    return OutboxCounts(
        pending=counts.get("pending", 0),
        sent=counts.get("sent", 0),
        dead=counts.get("dead", 0),
        oldest_pending_at=oldest,
    )


def alerts_by_id(connection: Connection, alert_ids: Sequence[int]) -> list[AlertRow]:
    if not alert_ids:
        return []
    rows = connection.execute(
        select(alert, article.c.data.label("article_data"))
        .outerjoin(article, article.c.id == alert.c.article_id)
        .where(alert.c.id.in_(alert_ids))
        .order_by(alert.c.next_attempt_at, alert.c.id)
    )
    return [_alert_row(row) for row in rows]


def _alert_row(row: Row) -> AlertRow:
    return AlertRow(
        id=row.id,
        notifier=row.notifier,
        rule_id=row.rule_id,
        story_id=row.story_id,
        article_id=row.article_id,
        dedup_key=row.dedup_key,
        kind=row.kind,
        payload=row.payload,
        status=row.status,
        attempts=row.attempts,
        created_at=row.created_at,
        next_attempt_at=row.next_attempt_at,
        last_error=row.last_error,
        results=row.results,
        sent_at=row.sent_at,
        article=Article.model_validate(row.article_data) if row.article_data else None,
    )
