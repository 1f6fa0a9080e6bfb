"""One poll's entries into the store, in one transaction (DESIGN §6, reliability.md §7.2).

The caller works in two steps so that the matcher and the alert composer stay outside the store:

1. `filter_new` (a read) says which listed keys are unseen and whether this is the feed's first
   poll; the caller matches only those entries and decides which alerts each would queue.
2. `ingest` (one write transaction) inserts a seen row for every listed key with
   `ON CONFLICT DO NOTHING … RETURNING`: the keys the database reports inserted are the new
   entries, whatever step 1 said. Only for those does it store the article, assign the story,
   store the matches and queue the alerts (`ON CONFLICT (dedup_key) DO NOTHING`); on a feed's
   first poll only the seen marks are written, except for the newest `first_poll_alerts`.
   Feed state (and, when given, the fetch outcome with its validators) commits in the same
   transaction.

So a crash or an error anywhere leaves either all of a poll or none of it; a key another worker
marked seen in between is simply not new here; and a story that alerted once for a rule and
notifier never queues again, from whichever feed it comes.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.engine import Connection

from watcher.store.clustering import StoryInput, assign_stories
from watcher.store.feeds import record_fetch
from watcher.store.locks import STORY_LOCK, serialize
from watcher.store.queue import AlertRequest, queue_alerts
from watcher.store.schema import article, feed, match, seen_entry
from watcher.store.sql import chunks, insert_ignoring_conflicts, next_ids
from watcher.store.values import (
    ALERT_KINDS,
    FetchOutcome,
    IngestResult,
    NewArticle,
    NewEntries,
    PolledEntry,
    QueuedAlert,
    SkippedAlert,
    StoreError,
)

# Built once, lists as expanding parameters: SQLAlchemy's compiled cache then serves every poll
# without building and keying the statements again.
_SEEN_KEYS = select(seen_entry.c.entry_key).where(
    seen_entry.c.feed_id == bindparam("feed"),
    seen_entry.c.entry_key.in_(bindparam("keys", expanding=True)),
)
_STILL_LISTED = (
    update(seen_entry)
    .where(
        seen_entry.c.feed_id == bindparam("feed"),
        seen_entry.c.entry_key.in_(bindparam("keys", expanding=True)),
    )
    .values(last_seen_at=bindparam("now"))
)


def filter_new(connection: Connection, feed_id: int, keys: Sequence[str]) -> NewEntries:
    primed = connection.execute(select(feed.c.primed_at).where(feed.c.id == feed_id)).first()
    if primed is None:
        raise StoreError(f"feed id {feed_id} is not in the store")
    seen: set[str] = set()
    for part in chunks(list(dict.fromkeys(keys))):
        seen.update(connection.execute(_SEEN_KEYS, {"feed": feed_id, "keys": part}).scalars())
    return NewEntries(frozenset(k for k in keys if k not in seen), first_poll=primed[0] is None)


def newest_first(entries: Sequence[PolledEntry]) -> list[PolledEntry]:
    """Entries by publication time, newest first; undated ones after the dated, in feed order
    (feeds list their newest entries first)."""
    far_past = dt.datetime.min.replace(tzinfo=dt.UTC)
    ordered = sorted(
        enumerate(entries),
        key=lambda pair: (pair[1].article.published_at or far_past, -pair[0]),
        reverse=True,
    )
    return [entry for _, entry in ordered]


def ingest(
    connection: Connection,
    feed_id: int,
    entries: Sequence[PolledEntry],
    now: dt.datetime,
    first_poll_alerts: int,
    fetch: FetchOutcome | None,
) -> IngestResult:
    """Inside a write transaction: see module docstring."""
    row = connection.execute(
        select(feed.c.name, feed.c.primed_at).where(feed.c.id == feed_id).with_for_update()
    ).first()
    if row is None:
        raise StoreError(f"feed id {feed_id} is not in the store")
    listed = _unique_keys(entries)
    _check_inputs(row.name, listed)
    first_poll = row.primed_at is None

    inserted = _mark_seen(connection, feed_id, [entry.entry_key for entry in listed], now)
    new = [entry for entry in listed if entry.entry_key in inserted]
    # The first poll of a feed only marks its entries seen (but for the newest few, when asked):
    # they are old news to the user, and storing them would make adding a feed slow.
    alerting = newest_first(new)[: max(first_poll_alerts, 0)] if first_poll else new
    alerting_keys = {entry.entry_key for entry in alerting}
    alerting = [entry for entry in new if entry.entry_key in alerting_keys]

    new_articles: list[NewArticle] = []
    queued: list[QueuedAlert] = []
    skipped: list[SkippedAlert] = []
    if alerting:
        serialize(connection, STORY_LOCK)
        stories = assign_stories(
            connection,
            [
                StoryInput(e.article.title, e.article.summary, e.canonical_url, e.story_keys)
                for e in alerting
            ],
            now,
        )
        article_ids = _store_articles(connection, feed_id, alerting, stories, now)
        _store_matches(connection, list(zip(article_ids, alerting, strict=True)))
        requests: list[AlertRequest] = []
        for entry, (story_id, new_story), article_id in zip(
            alerting, stories, article_ids, strict=True
        ):
            new_articles.append(NewArticle(entry.entry_key, article_id, story_id, new_story))
            requests.extend(
                AlertRequest(spec, entry.entry_key, story_id, article_id) for spec in entry.alerts
            )
        queued, skipped = queue_alerts(connection, requests, now)

    feed_values: dict[str, Any] = {"listed_at": now, "primed_at": row.primed_at or now}
    if new:
        feed_values["last_new_at"] = now
    connection.execute(update(feed).where(feed.c.id == feed_id).values(**feed_values))
    if fetch is not None:
        record_fetch(connection, feed_id, fetch, now)
    return IngestResult(
        listed=len(listed),
        first_poll=first_poll,
        new=new_articles,
        quiet=[entry.entry_key for entry in new if entry.entry_key not in alerting_keys],
        alerts=queued,
        skipped=skipped,
    )


def _unique_keys(entries: Sequence[PolledEntry]) -> list[PolledEntry]:
    # A key listed twice in one poll is one entry: the first listing wins.
    first: dict[str, PolledEntry] = {}
    for entry in entries:
        first.setdefault(entry.entry_key, entry)
    return list(first.values())


def _check_inputs(feed_name: str, entries: Sequence[PolledEntry]) -> None:
    """Refuse bad input before anything is written, naming the feed and entry."""
    for entry in entries:
        where = f"feed {feed_name!r}, entry {entry.entry_key!r}"
        if not entry.entry_key:
            raise StoreError(f"feed {feed_name!r}: an entry has an empty key")
        for item in entry.matches:
            try:
                json.dumps(_evidence(item.evidence))
            except (TypeError, ValueError) as error:
                raise StoreError(
                    f"{where}: evidence of rule {item.rule_id!r} is not JSON ({error})"
                ) from None
        for spec in entry.alerts:
            what = f"{where}: alert for rule {spec.rule_id!r} to {spec.notifier!r}"
            if spec.kind not in ALERT_KINDS:
                raise StoreError(f"{what}: kind {spec.kind!r}, expected immediate or digest")
            try:
                json.dumps(dict(spec.payload))
            except (TypeError, ValueError) as error:
                raise StoreError(f"{what}: payload is not JSON ({error})") from None


def _mark_seen(
    connection: Connection, feed_id: int, keys: Sequence[str], now: dt.datetime
) -> set[str]:
    """Insert seen rows; return the keys that were not there. Refresh `last_seen_at` of the
    others so that retention never forgets an entry the feed still lists."""
    statement = insert_ignoring_conflicts(
        connection, seen_entry, "feed_id", "entry_key", returning=("entry_key",)
    )
    rows = [
        {"feed_id": feed_id, "entry_key": key, "first_seen_at": now, "last_seen_at": now}
        for key in keys
    ]
    inserted = set(connection.execute(statement, rows).scalars()) if rows else set()
    already_seen = [key for key in keys if key not in inserted]
    for part in chunks(already_seen):
        connection.execute(_STILL_LISTED, {"feed": feed_id, "keys": part, "now": now})
    return inserted


def _store_articles(
    connection: Connection,
    feed_id: int,
    entries: Sequence[PolledEntry],
    stories: Sequence[tuple[int, bool]],
    now: dt.datetime,
) -> list[int]:
    ids = next_ids(connection, article, len(entries))
    rows = [
        {
            "id": article_id,
            "feed_id": feed_id,
            "entry_key": entry.entry_key,
            "story_id": story_id,
            "url": entry.article.url,
            "canonical_url": entry.canonical_url,
            "title": entry.article.title,
            "published_at": entry.article.published_at,
            "fetched_at": entry.article.fetched_at,
            "first_seen_at": now,
            "data": entry.article.model_dump(mode="json"),
        }
        for article_id, entry, (story_id, _) in zip(ids, entries, stories, strict=True)
    ]
    connection.execute(insert(article), rows)
    return ids


def _store_matches(connection: Connection, stored: Sequence[tuple[int, PolledEntry]]) -> None:
    rows = [
        {
            "article_id": article_id,
            "rule_id": item.rule_id,
            "score": float(item.score),
            "evidence": _evidence(item.evidence),
        }
        for article_id, entry in stored
        for item in entry.matches
    ]
    if rows:
        connection.execute(
            insert_ignoring_conflicts(connection, match, "article_id", "rule_id"), rows
        )


def _evidence(evidence: Sequence[Any]) -> list[Any]:
    return [_plain(item) for item in evidence]


def _plain(item: Any) -> Any:
    if isinstance(item, BaseModel):
        return item.model_dump(mode="json")
    if dataclasses.is_dataclass(item) and not isinstance(item, type):
        return dataclasses.asdict(item)
    return item
