"""Assigning new articles to stories (stories.py says when two are the same).

A canonical URL joins articles of different feeds only: inside one feed, two entries with the
same link are two entries (a podcast's episodes all linking to the show's page, a live page's
updates), and only their text can make them one story.

New articles (of one poll or a batch) are assigned together with a fixed number of statements:
one lookup of their canonical URLs, one of their band keys, then the decisions in Python (an
article may also join a story created by an earlier article of the same batch), then the
inserts. The statements are built once per dialect (each list is one parameter), so
SQLAlchemy's compiled cache serves every poll without building or keying a statement again.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from sqlalchemy import Select, Update, bindparam, insert, select, update
from sqlalchemy.engine import Connection

from watcher.store.schema import article, feed, story, story_band
from watcher.store.sql import insert_plain_rows, many, next_ids, one_of
from watcher.store.values import StorySource
from watcher.stories import WINDOW, Fingerprint, StoryKeys, clusterable_url, story_keys


@dataclass(frozen=True, slots=True)
class StoryInput:
    """A new article to assign. `keys`, when given, must be `story_keys(title, summary)`
    (computed elsewhere, e.g. in a parser worker); when None they are computed here."""

    feed_id: int
    title: str
    summary: str
    canonical_url: str | None
    keys: StoryKeys | None = None


@dataclass(slots=True)
class _Candidate:
    """A story a new article may join: stored (`story_id`) or created in this batch (`slot`)."""

    title_words: Sequence[str]
    summary_words: Sequence[str]
    last_seen_at: dt.datetime
    story_id: int | None = None
    slot: int | None = None
    _shingled: bool = field(default=False, init=False, repr=False)
    _fingerprint: Fingerprint | None = field(default=None, init=False, repr=False)

    @property
    def fingerprint(self) -> Fingerprint | None:
        # Shingled on first comparison only: most new articles share no band key with any story.
        if not self._shingled:
            self._fingerprint = Fingerprint.of(self.title_words, self.summary_words)
            self._shingled = True
        return self._fingerprint


@functools.cache
def _by_url(dialect: str) -> Select[Any]:
    return (
        select(article.c.canonical_url, article.c.feed_id, article.c.story_id, story.c.last_seen_at)
        .join(story, story.c.id == article.c.story_id)
        .where(one_of(article.c.canonical_url, "urls", dialect))
        .order_by(article.c.id)
    )


@functools.cache
def _by_band(dialect: str) -> Select[Any]:
    return (
        select(
            story_band.c.band_key,
            story.c.id,
            story.c.title_words,
            story.c.summary_words,
            story.c.last_seen_at,
        )
        .join(story, story.c.id == story_band.c.story_id)
        .where(
            one_of(story_band.c.band_key, "keys", dialect),
            story.c.last_seen_at >= bindparam("since"),
        )
    )


@functools.cache
def _touch_statement(dialect: str) -> Update:
    return (
        update(story)
        .where(one_of(story.c.id, "ids", dialect), story.c.last_seen_at < bindparam("now"))
        .values(last_seen_at=bindparam("now"))
    )


def assign_stories(
    connection: Connection, items: Sequence[StoryInput], now: dt.datetime
) -> list[tuple[int, bool]]:
    """The story id of each new article, and whether this article started that story.

    Inside the ingest transaction; on PostgreSQL the caller holds the story lock, so two nodes
    ingesting the same story from two feeds cannot both create it.
    """
    urls = [clusterable_url(item.canonical_url) for item in items]
    keys = [
        item.keys if item.keys is not None else story_keys(item.title, item.summary)
        for item in items
    ]

    by_url = _stories_by_url(connection, {url for url in urls if url})
    by_band = _stories_by_band(connection, {key for k in keys for key in k.band_keys}, now)

    chosen: list[_Candidate] = []
    created: list[int] = []  # item index of each story this batch creates, by slot
    for index, (item, url, item_keys) in enumerate(zip(items, urls, keys, strict=True)):
        own = _Candidate(item_keys.title_words, item_keys.summary_words, now)
        match = _latest_of_another_feed(by_url.get(url, ()), item.feed_id) if url else None
        if match is None and item_keys.band_keys:
            # `get`: most keys have no story, and the defaultdict would store an empty list each.
            candidates = (c for key in item_keys.band_keys for c in by_band.get(key, ()))
            match = _most_similar(own, candidates)
        if match is None:
            own.slot = len(created)
            match = own
            created.append(index)
            for key in item_keys.band_keys:
                by_band[key].append(own)
        if url:
            by_url[url].append((item.feed_id, match))
        chosen.append(match)

    new_ids = _insert_stories(connection, urls, keys, created, now)
    bands = [
        (new_ids[slot], key) for slot, index in enumerate(created) for key in keys[index].band_keys
    ]
    insert_plain_rows(connection, story_band, ("story_id", "band_key"), bands)
    _touch(connection, {c.story_id for c in chosen if c.story_id is not None}, now)

    def outcome(index: int, candidate: _Candidate) -> tuple[int, bool]:
        if candidate.story_id is not None:
            return candidate.story_id, False
        assert candidate.slot is not None  # a candidate is stored or created here
        return new_ids[candidate.slot], created[candidate.slot] == index

    return [outcome(index, candidate) for index, candidate in enumerate(chosen)]


_ByUrl = defaultdict[str, list[tuple[int, _Candidate]]]


def _stories_by_url(connection: Connection, urls: set[str]) -> _ByUrl:
    """The stories of the articles with these URLs, by URL: (feed id, story), oldest first."""
    found: _ByUrl = defaultdict(list)
    if not urls:
        return found
    dialect = connection.dialect.name
    for row in connection.execute(_by_url(dialect), {"urls": many(dialect, sorted(urls))}):
        # Joined by URL, never compared by text: no words needed.
        candidate = _Candidate((), (), row.last_seen_at, story_id=row.story_id)
        found[row.canonical_url].append((row.feed_id, candidate))
    return found


def _latest_of_another_feed(
    stories: Sequence[tuple[int, _Candidate]], feed_id: int
) -> _Candidate | None:
    return next((c for owner, c in reversed(stories) if owner != feed_id), None)


def _stories_by_band(
    connection: Connection, keys: set[int], now: dt.datetime
) -> defaultdict[int, list[_Candidate]]:
    """Stories of the clustering window sharing a band key, with their words."""
    by_band: defaultdict[int, list[_Candidate]] = defaultdict(list)
    if not keys:
        return by_band
    stories: dict[int, _Candidate] = {}
    dialect = connection.dialect.name
    parameters = {"keys": many(dialect, sorted(keys)), "since": now - WINDOW}
    for row in connection.execute(_by_band(dialect), parameters):
        candidate = stories.get(row.id)
        if candidate is None:
            candidate = _Candidate(
                row.title_words.split(),
                row.summary_words.split(),
                row.last_seen_at,
                story_id=row.id,
            )
            stories[row.id] = candidate
        by_band[row.band_key].append(candidate)
    return by_band


def _most_similar(own: _Candidate, candidates: Iterable[_Candidate]) -> _Candidate | None:
    best: _Candidate | None = None
    best_rank: tuple[Fraction, dt.datetime] | None = None
    for candidate in candidates:
        fingerprint, other = own.fingerprint, candidate.fingerprint
        if fingerprint is None or other is None or not fingerprint.same_story(other):
            continue
        rank = (fingerprint.similarity(other), candidate.last_seen_at)
        if best_rank is None or rank > best_rank:
            best, best_rank = candidate, rank
    return best


def _insert_stories(
    connection: Connection,
    urls: Sequence[str | None],
    keys: Sequence[StoryKeys],
    created: Sequence[int],
    now: dt.datetime,
) -> list[int]:
    ids = next_ids(connection, story, len(created))
    rows = [
        {
            "id": story_id,
            "canonical_url": urls[index],
            "title_words": " ".join(keys[index].title_words),
            "summary_words": " ".join(keys[index].summary_words),
            "first_seen_at": now,
            "last_seen_at": now,
        }
        for story_id, index in zip(ids, created, strict=True)
    ]
    if rows:
        connection.execute(insert(story), rows)
    return ids


def _touch(connection: Connection, story_ids: set[int], now: dt.datetime) -> None:
    if story_ids:
        dialect = connection.dialect.name
        parameters = {"ids": many(dialect, sorted(story_ids)), "now": now}
        connection.execute(_touch_statement(dialect), parameters)


def story_sources(connection: Connection, story_id: int) -> list[StorySource]:
    """The articles of a story, first seen first: the sources an alert message lists."""
    rows = connection.execute(
        select(
            feed.c.name,
            article.c.data,
            article.c.url,
            article.c.title,
            article.c.published_at,
            article.c.first_seen_at,
        )
        .join(feed, feed.c.id == article.c.feed_id)
        .where(article.c.story_id == story_id)
        .order_by(article.c.first_seen_at, article.c.id)
    )
    return [
        StorySource(
            feed=row.name,
            source=row.data.get("source", ""),
            title=row.title,
            url=row.url,
            published_at=row.published_at,
            first_seen_at=row.first_seen_at,
        )
        for row in rows
    ]
