"""Assigning new articles to stories (stories.py says when two are the same).

One poll's new articles are assigned together with a fixed number of statements: one lookup of
their canonical URLs, one of their band keys, then the decisions in Python (an article may
also join a story created by an earlier article of the same poll), then the inserts.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection

from watcher.store.schema import article, feed, story, story_band
from watcher.store.sql import chunks
from watcher.store.stories import WINDOW, Fingerprint, clusterable_url, words
from watcher.store.values import StorySource


@dataclass(frozen=True, slots=True)
class StoryInput:
    title: str
    summary: str
    canonical_url: str | None


@dataclass(slots=True)
class _Candidate:
    """A story a new article may join: stored (`story_id`) or created in this batch (`slot`)."""

    fingerprint: Fingerprint | None
    last_seen_at: dt.datetime
    story_id: int | None = None
    slot: int | None = None


def assign_stories(
    connection: Connection, items: Sequence[StoryInput], now: dt.datetime
) -> list[tuple[int, bool]]:
    """The story id of each new article, and whether this article started that story.

    Inside the ingest transaction; on PostgreSQL the caller holds the story lock, so two nodes
    ingesting the same story from two feeds cannot both create it.
    """
    urls = [clusterable_url(item.canonical_url) for item in items]
    texts = [(words(item.title), words(item.summary)) for item in items]
    fingerprints = [Fingerprint.of(title, summary) for title, summary in texts]
    band_keys = [sorted(set(fp.band_keys())) if fp else [] for fp in fingerprints]

    by_url = _stories_by_url(connection, {url for url in urls if url})
    by_band = _stories_by_band(connection, {key for keys in band_keys for key in keys}, now)

    chosen: list[_Candidate] = []
    created: list[int] = []  # item index of each story this batch creates, by slot
    for index, (url, fingerprint, keys) in enumerate(
        zip(urls, fingerprints, band_keys, strict=True)
    ):
        match = by_url.get(url) if url else None
        if match is None and fingerprint is not None:
            match = _most_similar(fingerprint, (c for key in keys for c in by_band[key]))
        if match is None:
            match = _Candidate(fingerprint, now, slot=len(created))
            created.append(index)
            for key in keys:
                by_band[key].append(match)
        if url and url not in by_url:
            by_url[url] = match
        chosen.append(match)

    new_ids = _insert_stories(connection, urls, texts, created, now)
    bands = [
        {"story_id": new_ids[slot], "band_key": key}
        for slot, index in enumerate(created)
        for key in band_keys[index]
    ]
    if bands:
        connection.execute(insert(story_band), bands)
    _touch(connection, {c.story_id for c in chosen if c.story_id is not None}, now)

    def outcome(index: int, candidate: _Candidate) -> tuple[int, bool]:
        if candidate.story_id is not None:
            return candidate.story_id, False
        assert candidate.slot is not None  # a candidate is stored or created here
        return new_ids[candidate.slot], created[candidate.slot] == index

    return [outcome(index, candidate) for index, candidate in enumerate(chosen)]


def _stories_by_url(connection: Connection, urls: set[str]) -> dict[str, _Candidate]:
    found: dict[str, _Candidate] = {}
    for part in chunks(sorted(urls)):
        rows = connection.execute(
            select(article.c.canonical_url, article.c.story_id, story.c.last_seen_at)
            .join(story, story.c.id == article.c.story_id)
            .where(article.c.canonical_url.in_(part))
            .order_by(article.c.id)
        )
        for row in rows:  # the latest article with the URL wins
            found[row.canonical_url] = _Candidate(None, row.last_seen_at, story_id=row.story_id)
    return found


def _stories_by_band(
    connection: Connection, keys: set[int], now: dt.datetime
) -> defaultdict[int, list[_Candidate]]:
    """Stories of the clustering window sharing a band key, with their fingerprints."""
    by_band: defaultdict[int, list[_Candidate]] = defaultdict(list)
    stories: dict[int, _Candidate] = {}
    for part in chunks(sorted(keys)):
        rows = connection.execute(
            select(
                story_band.c.band_key,
                story.c.id,
                story.c.title_words,
                story.c.summary_words,
                story.c.last_seen_at,
            )
            .join(story, story.c.id == story_band.c.story_id)
            .where(story_band.c.band_key.in_(part), story.c.last_seen_at >= now - WINDOW)
        )
        for row in rows:
            candidate = stories.get(row.id)
            if candidate is None:
                fingerprint = Fingerprint.of(row.title_words.split(), row.summary_words.split())
                candidate = _Candidate(fingerprint, row.last_seen_at, story_id=row.id)
                stories[row.id] = candidate
            by_band[row.band_key].append(candidate)
    return by_band


def _most_similar(fingerprint: Fingerprint, candidates: Iterable[_Candidate]) -> _Candidate | None:
    best: _Candidate | None = None
    best_rank: tuple[Fraction, dt.datetime] | None = None
    for candidate in candidates:
        if candidate.fingerprint is None or not fingerprint.same_story(candidate.fingerprint):
            continue
        rank = (fingerprint.similarity(candidate.fingerprint), candidate.last_seen_at)
        if best_rank is None or rank > best_rank:
            best, best_rank = candidate, rank
    return best


def _insert_stories(
    connection: Connection,
    urls: Sequence[str | None],
    texts: Sequence[tuple[list[str], list[str]]],
    created: Sequence[int],
    now: dt.datetime,
) -> list[int]:
    if not created:
        return []
    rows = [
        {
            "canonical_url": urls[index],
            "title_words": " ".join(texts[index][0]),
            "summary_words": " ".join(texts[index][1]),
            "first_seen_at": now,
            "last_seen_at": now,
        }
        for index in created
    ]
    result = connection.execute(
        insert(story).returning(story.c.id, sort_by_parameter_order=True), rows
    )
    return list(result.scalars())


def _touch(connection: Connection, story_ids: set[int], now: dt.datetime) -> None:
    for part in chunks(sorted(story_ids)):
        connection.execute(
            update(story)
            .where(story.c.id.in_(part), story.c.last_seen_at < now)
            .values(last_seen_at=now)
        )


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
