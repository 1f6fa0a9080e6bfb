"""Polls' entries into the store, in one transaction (DESIGN §6, reliability.md §7.2).

The caller works in two steps so that the matcher and the alert composer stay outside the store:

1. `filter_new` (a read) says which listed keys are unseen and whether this is the feed's first
   poll; a caller can then match only those entries and decide which alerts each would queue.
2. `ingest_many` (one write transaction, one poll or many) inserts a seen row for every listed
   key with `ON CONFLICT DO NOTHING … RETURNING`: the keys the database reports inserted are
   the new entries, whatever step 1 said. Only for those does it store the article, assign the
   story, store the matches and queue the alerts (`ON CONFLICT (dedup_key) DO NOTHING`); on a
   feed's first poll only the seen marks are written, except for the newest
   `first_poll_alerts`. Feed state (and, when given, the fetch outcome with its validators)
   commits in the same transaction. Many polls go through each step together, so a busy cycle
   pays the statements once per batch instead of once per feed.

So a crash or an error anywhere leaves either all of a batch or none of it; a key another
worker marked seen in between is simply not new here; and a story that alerted once for a rule
and notifier never queues again, from whichever feed it comes.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Select, bindparam, case, func, insert, select, update
from sqlalchemy.engine import Connection, Row

from watcher.store.clustering import StoryInput, assign_stories
from watcher.store.errors import StoreError
from watcher.store.feeds import record_fetches_of_known_feeds
from watcher.store.locks import STORY_LOCK, serialize
from watcher.store.queue import AlertRequest, queue_alerts
from watcher.store.schema import article, feed, match, seen_entry
from watcher.store.sql import insert_ignoring_conflicts, many, next_ids, one_of
from watcher.store.values import (
    ALERT_KINDS,
    IngestResult,
    NewArticle,
    NewEntries,
    PolledEntry,
    PollInput,
    QueuedAlert,
    SkippedAlert,
)


# Built once (per dialect where a list is bound as one parameter, `one_of`): SQLAlchemy's
# compiled cache then serves every poll without building and keying the statements again.
@functools.cache
def _seen_keys(dialect: str) -> Select[Any]:
    return select(seen_entry.c.entry_key).where(
        seen_entry.c.feed_id == bindparam("feed"), one_of(seen_entry.c.entry_key, "keys", dialect)
    )


@functools.cache
def _still_listed(dialect: str) -> Any:
    # One statement per feed with its keys as one list: per key, the driver's and SQLAlchemy's
    # handling of a row of parameters cost more than the index lookup it asks for.
    return (
        update(seen_entry)
        .where(
            seen_entry.c.feed_id == bindparam("p_feed"),
            one_of(seen_entry.c.entry_key, "p_keys", dialect),
        )
        .values(last_seen_at=bindparam("p_now"))
    )


@functools.cache
def _feed_rows_statement(dialect: str) -> Select[Any]:
    return (
        select(feed.c.id, feed.c.name, feed.c.primed_at, feed.c.silent_since)
        .where(one_of(feed.c.id, "ids", dialect))
        .with_for_update()
    )


_FEED_LISTED = (
    update(feed)
    .where(feed.c.id == bindparam("p_id"))
    .values(
        listed_at=bindparam("p_now"),
        primed_at=func.coalesce(feed.c.primed_at, bindparam("p_now")),
        last_new_at=func.coalesce(bindparam("p_new_at"), feed.c.last_new_at),
        # A new entry ends a silence.
        silent_since=case((bindparam("p_new_at").is_(None), feed.c.silent_since), else_=None),
    )
)


def filter_new(connection: Connection, feed_id: int, keys: Sequence[str]) -> NewEntries:
    primed = connection.execute(select(feed.c.primed_at).where(feed.c.id == feed_id)).first()
    if primed is None:
        raise StoreError(f"feed id {feed_id} is not in the store")
    dialect = connection.dialect.name
    parameters = {"feed": feed_id, "keys": many(dialect, dict.fromkeys(keys))}
    seen = set(connection.execute(_seen_keys(dialect), parameters).scalars())
    return NewEntries(frozenset(k for k in keys if k not in seen), first_poll=primed[0] is None)


def latest_listing(connection: Connection, feed_id: int, listed_at: dt.datetime) -> frozenset[str]:
    return frozenset(
        connection.execute(
            select(seen_entry.c.entry_key).where(
                seen_entry.c.feed_id == feed_id, seen_entry.c.last_seen_at == listed_at
            )
        ).scalars()
    )


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


@dataclass(slots=True)
class _Poll:
    """A poll of `ingest_many` that passed the checks, and what its ingest found."""

    index: int
    input: PollInput
    listed: list[PolledEntry]
    # Keys listed without an entry (`PollInput.seen_keys`, less those `listed` has), and
    # those of them the store did not know after all.
    seen: list[str]
    marked: list[str] = field(default_factory=list)
    primed_at: dt.datetime | None = None
    silent_since: dt.datetime | None = None
    new: list[PolledEntry] = field(default_factory=list)
    alerting: list[PolledEntry] = field(default_factory=list)
    articles: list[NewArticle] = field(default_factory=list)
    alerts: list[QueuedAlert] = field(default_factory=list)
    skipped: list[SkippedAlert] = field(default_factory=list)

    def listed_keys(self) -> list[str]:
        """Every key the poll lists: its entries' first, then those given alone."""
        return [*(entry.entry_key for entry in self.listed), *self.seen]

    def result(self) -> IngestResult:
        alerting = {entry.entry_key for entry in self.alerting}
        return IngestResult(
            listed=len(self.listed) + len(self.seen),
            first_poll=self.primed_at is None,
            new=self.articles,
            quiet=[entry.entry_key for entry in self.new if entry.entry_key not in alerting]
            + self.marked,
            alerts=self.alerts,
            skipped=self.skipped,
            silence_ended=self.silent_since if self.new else None,
        )


def ingest_many(
    connection: Connection, polls: Sequence[PollInput]
) -> list[IngestResult | StoreError]:
    """Inside a write transaction: see module docstring. Each poll's result, or the StoreError
    that refused it (a feed not in the store, bad input) while the others went in."""
    outcomes: list[IngestResult | StoreError | None] = [None] * len(polls)
    rows = _feed_rows(connection, {poll.feed_id for poll in polls})
    accepted: list[_Poll] = []
    for index, poll in enumerate(polls):
        row = rows.get(poll.feed_id)
        if row is None:
            outcomes[index] = StoreError(f"feed id {poll.feed_id} is not in the store")
            continue
        listed = _unique_keys(poll.entries)
        with_entries = {entry.entry_key for entry in listed}
        seen = [key for key in dict.fromkeys(poll.seen_keys) if key not in with_entries]
        try:
            _check_inputs(row.name, listed, seen)
        except StoreError as error:
            outcomes[index] = error
            continue
        accepted.append(_Poll(index, poll, listed, seen))
    primed_at = {feed_id: row.primed_at for feed_id, row in rows.items()}
    silent_since = {feed_id: row.silent_since for feed_id, row in rows.items()}
    for round_ in _rounds(accepted):
        going = []
        for item in round_:  # an earlier round may have primed the feed, or ended its silence
            item.primed_at = primed_at[item.input.feed_id]
            item.silent_since = silent_since[item.input.feed_id]
            if item.input.first_poll_only and item.primed_at is not None:
                outcomes[item.index] = StoreError(
                    f"feed {rows[item.input.feed_id].name!r}: parsed as its first poll, but "
                    "another poll of it went in meanwhile; its entries are read at the next poll"
                )
            else:
                going.append(item)
        if not going:
            continue
        _ingest_round(connection, going)
        for item in going:
            primed_at[item.input.feed_id] = item.primed_at or item.input.now
            if item.new:
                silent_since[item.input.feed_id] = None
            outcomes[item.index] = item.result()
    return [outcome for outcome in outcomes if outcome is not None]


def _feed_rows(connection: Connection, feed_ids: set[int]) -> dict[int, Row[Any]]:
    dialect = connection.dialect.name
    parameters = {"ids": many(dialect, sorted(feed_ids))}
    return {row.id: row for row in connection.execute(_feed_rows_statement(dialect), parameters)}


def _rounds(polls: Sequence[_Poll]) -> Iterator[list[_Poll]]:
    """The polls in order, cut wherever a feed comes again: a feed's later poll must see what
    its earlier one marked seen and primed."""
    round_: list[_Poll] = []
    feeds_in_round: set[int] = set()
    for poll in polls:
        if poll.input.feed_id in feeds_in_round:
            yield round_
            round_, feeds_in_round = [], set()
        round_.append(poll)
        feeds_in_round.add(poll.input.feed_id)
    if round_:
        yield round_


def _ingest_round(connection: Connection, polls: Sequence[_Poll]) -> None:
    """Ingest polls of distinct feeds together: each step one set of statements for all."""
    inserted = _mark_seen(connection, polls)
    for poll in polls:
        feed_id = poll.input.feed_id
        poll.new = [e for e in poll.listed if (feed_id, e.entry_key) in inserted]
        poll.marked = [key for key in poll.seen if (feed_id, key) in inserted]
        # The first poll of a feed only marks its entries seen (but for the newest few, when
        # asked): they are old news to the user, and storing them would make adding a feed slow.
        if poll.primed_at is None:
            newest = newest_first(poll.new)[: max(poll.input.first_poll_alerts, 0)]
            keys = {entry.entry_key for entry in newest}
            poll.alerting = [entry for entry in poll.new if entry.entry_key in keys]
        else:
            poll.alerting = poll.new
    alerting = [(poll, entry) for poll in polls for entry in poll.alerting]
    if alerting:
        _store_new(connection, alerting, max(poll.input.now for poll in polls))
    _update_feeds(connection, polls)
    # The feeds were read at the start of `ingest_many`, in this transaction.
    record_fetches_of_known_feeds(
        connection,
        [(p.input.feed_id, p.input.fetch, p.input.now) for p in polls if p.input.fetch is not None],
    )


def _store_new(
    connection: Connection, alerting: Sequence[tuple[_Poll, PolledEntry]], now: dt.datetime
) -> None:
    """Store the entries that alert (one poll's or many): stories, articles, matches, alerts."""
    serialize(connection, STORY_LOCK)
    stories = assign_stories(
        connection,
        [
            StoryInput(
                p.input.feed_id, e.article.title, e.article.summary, e.canonical_url, e.story_keys
            )
            for p, e in alerting
        ],
        now,
    )
    article_ids = _store_articles(connection, alerting, stories)
    _store_matches(connection, list(zip(article_ids, (e for _, e in alerting), strict=True)))
    requests: list[AlertRequest] = []
    owners: list[_Poll] = []
    for (poll, entry), (story_id, new_story), article_id in zip(
        alerting, stories, article_ids, strict=True
    ):
        poll.articles.append(NewArticle(entry.entry_key, article_id, story_id, new_story))
        for spec in entry.alerts:
            requests.append(AlertRequest(spec, entry.entry_key, story_id, article_id))
            owners.append(poll)
    for poll, outcome in zip(owners, queue_alerts(connection, requests, now), strict=True):
        if isinstance(outcome, QueuedAlert):
            poll.alerts.append(outcome)
        else:
            poll.skipped.append(outcome)


def _update_feeds(connection: Connection, polls: Sequence[_Poll]) -> None:
    connection.execute(
        _FEED_LISTED,
        [
            {
                "p_id": poll.input.feed_id,
                "p_now": poll.input.now,
                "p_new_at": poll.input.now if poll.new else None,
            }
            for poll in polls
        ],
    )


def _unique_keys(entries: Sequence[PolledEntry]) -> list[PolledEntry]:
    # A key listed twice in one poll is one entry: the first listing wins.
    first: dict[str, PolledEntry] = {}
    for entry in entries:
        first.setdefault(entry.entry_key, entry)
    return list(first.values())


def _check_inputs(feed_name: str, entries: Sequence[PolledEntry], seen: Sequence[str]) -> None:
    """Refuse bad input before anything is written, naming the feed and entry."""
    if "" in seen:
        raise StoreError(f"feed {feed_name!r}: a seen key is empty")
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


def _mark_seen(connection: Connection, polls: Sequence[_Poll]) -> set[tuple[int, str]]:
    """Insert seen rows; return the (feed id, key) pairs that were not there. Refresh
    `last_seen_at` of the others so that retention never forgets an entry a feed still lists."""
    statement = insert_ignoring_conflicts(
        connection, seen_entry, "feed_id", "entry_key", returning=("feed_id", "entry_key")
    )
    rows = [
        {
            "feed_id": poll.input.feed_id,
            "entry_key": key,
            "first_seen_at": poll.input.now,
            "last_seen_at": poll.input.now,
        }
        for poll in polls
        for key in poll.listed_keys()
    ]
    inserted = {(row[0], row[1]) for row in connection.execute(statement, rows)} if rows else set()
    dialect = connection.dialect.name
    still_listed = []
    for poll in polls:  # each feed comes once in a round
        feed_id = poll.input.feed_id
        keys = [key for key in poll.listed_keys() if (feed_id, key) not in inserted]
        if keys:
            still_listed.append(
                {"p_feed": feed_id, "p_keys": many(dialect, keys), "p_now": poll.input.now}
            )
    if still_listed:
        connection.execute(_still_listed(dialect), still_listed)
    return inserted


def _store_articles(
    connection: Connection,
    alerting: Sequence[tuple[_Poll, PolledEntry]],
    stories: Sequence[tuple[int, bool]],
) -> list[int]:
    ids = next_ids(connection, article, len(alerting))
    rows = [
        {
            "id": article_id,
            "feed_id": poll.input.feed_id,
            "entry_key": entry.entry_key,
            "story_id": story_id,
            "url": entry.article.url,
            "canonical_url": entry.canonical_url,
            "title": entry.article.title,
            "published_at": entry.article.published_at,
            "fetched_at": entry.article.fetched_at,
            "first_seen_at": poll.input.now,
            "data": entry.article.model_dump(mode="json"),
        }
        for article_id, (poll, entry), (story_id, _) in zip(ids, alerting, stories, strict=True)
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
