"""Queuing alerts into the outbox, inside the ingest transaction.

A fixed number of statements per ingest (of one poll or many): one lookup of the dedup keys
already queued, one per throttled (notifier, rule) pair, and the inserts. Decisions follow the
order of the requests, so within one ingest the first alert of a story (or of a throttled
rule) wins.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Select, func, select
from sqlalchemy.engine import Connection

from watcher.store.outbox import dedup_key
from watcher.store.schema import alert
from watcher.store.sql import insert_ignoring_conflicts, many, one_of
from watcher.store.values import AlertSpec, QueuedAlert, SkippedAlert, SkipReason


@dataclass(frozen=True, slots=True)
class AlertRequest:
    spec: AlertSpec
    entry_key: str
    story_id: int
    article_id: int


def queue_alerts(
    connection: Connection, requests: Sequence[AlertRequest], now: dt.datetime
) -> list[QueuedAlert | SkippedAlert]:
    """What became of each request, in the order of the requests."""
    keys = [dedup_key(r.spec.notifier, r.spec.rule_id, r.story_id) for r in requests]
    taken = _queued_keys(connection, keys)
    last_immediate = _last_immediate(connection, requests, now)
    outcomes: list[QueuedAlert | SkippedAlert | None] = [None] * len(requests)
    accepted: list[tuple[int, str]] = []
    for index, (request, key) in enumerate(zip(requests, keys, strict=True)):
        spec = request.spec
        pair = (spec.notifier, spec.rule_id)
        if key in taken:
            outcomes[index] = _skipped(request, "duplicate")
            continue
        last = last_immediate.get(pair)
        if (
            spec.kind == "immediate"
            and spec.throttle is not None
            and last is not None
            and last > now - spec.throttle
        ):
            outcomes[index] = _skipped(request, "throttled")
            continue
        taken.add(key)
        if spec.kind == "immediate":
            last_immediate[pair] = now
        accepted.append((index, key))
    inserted = _insert(connection, [_row(requests[index], key, now) for index, key in accepted])
    for index, key in accepted:
        request = requests[index]
        if key not in inserted:  # another node queued it between our lookup and insert
            outcomes[index] = _skipped(request, "duplicate")
            continue
        spec = request.spec
        outcomes[index] = QueuedAlert(
            inserted[key], key, spec.notifier, spec.rule_id, request.story_id,
            request.article_id, spec.kind,
        )  # fmt: skip
    return [outcome for outcome in outcomes if outcome is not None]


def _row(request: AlertRequest, key: str, now: dt.datetime) -> dict[str, object]:
    spec = request.spec
    return {
        "notifier": spec.notifier,
        "rule_id": spec.rule_id,
        "story_id": request.story_id,
        "article_id": request.article_id,
        "dedup_key": key,
        "kind": spec.kind,
        "payload": dict(spec.payload),
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
    }


# Built once per dialect, the list one parameter: the compiled cache serves every poll.
@functools.cache
def _queued_keys_statement(dialect: str) -> Select[tuple[str]]:
    return select(alert.c.dedup_key).where(one_of(alert.c.dedup_key, "keys", dialect))


def _queued_keys(connection: Connection, keys: Sequence[str]) -> set[str]:
    if not keys:
        return set()
    dialect = connection.dialect.name
    parameters = {"keys": many(dialect, sorted(set(keys)))}
    return set(connection.execute(_queued_keys_statement(dialect), parameters).scalars())


def _last_immediate(
    connection: Connection, requests: Sequence[AlertRequest], now: dt.datetime
) -> dict[tuple[str, str], dt.datetime]:
    """When each throttled (notifier, rule) pair last queued an immediate alert, if ever."""
    pairs = {
        (r.spec.notifier, r.spec.rule_id)
        for r in requests
        if r.spec.throttle is not None and r.spec.kind == "immediate"
    }
    last: dict[tuple[str, str], dt.datetime] = {}
    for notifier, rule_id in sorted(pairs):
        when = connection.execute(
            select(func.max(alert.c.created_at)).where(
                alert.c.notifier == notifier,
                alert.c.rule_id == rule_id,
                alert.c.kind == "immediate",
                alert.c.created_at <= now,
            )
        ).scalar()
        if when is not None:
            last[(notifier, rule_id)] = when
    return last


def _insert(connection: Connection, rows: Sequence[dict[str, object]]) -> dict[str, int]:
    """Insert with `ON CONFLICT (dedup_key) DO NOTHING`; the ids of the rows that went in."""
    if not rows:
        return {}
    statement = insert_ignoring_conflicts(
        connection, alert, "dedup_key", returning=("dedup_key", "id")
    )
    inserted = {row.dedup_key: row.id for row in connection.execute(statement, rows)}
    return inserted


def _skipped(request: AlertRequest, reason: SkipReason) -> SkippedAlert:
    spec = request.spec
    return SkippedAlert(spec.notifier, spec.rule_id, request.story_id, request.entry_key, reason)
