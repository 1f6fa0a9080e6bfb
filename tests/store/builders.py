"""Builders for store tests: feeds, articles, matches and entries with little typing."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa

from watcher.article import Article, Block
from watcher.matching import Evidence, Match
from watcher.store import AlertSpec, PolledEntry, Store

T0 = dt.datetime(2025, 5, 20, 8, 0, tzinfo=dt.UTC)


@dataclass(frozen=True)
class FeedConfig:
    name: str
    url: str


def add_feed(store: Store, name: str, now: dt.datetime = T0) -> int:
    """Configure one more feed (keeping the others) and return its id."""
    names = [status.name for status in store.feed_status() if status.removed_at is None]
    configured = [FeedConfig(other, f"https://{other}.example/rss") for other in names]
    store.sync_feeds([*configured, FeedConfig(name, f"https://{name}.example/rss")], now)
    row = store.feed(name)
    assert row is not None
    return row.id


def article(
    title: str,
    summary: str = "",
    *,
    url: str | None = None,
    published: dt.datetime | None = None,
    feed: str = "wire",
    source: str = "",
) -> Article:
    return Article(
        date=(published or T0).date(),
        title=title,
        summary=summary,
        body=[Block(text=summary or title)],
        url=url,
        feed=feed,
        source=source,
        published_at=published,
        fetched_at=T0,
    )


def rule_match(rule_id: str = "border-security", score: float = 3.0) -> Match:
    return Match(
        rule_id=rule_id,
        rule_title=rule_id.replace("-", " ").title(),
        severity="medium",
        score=score,
        matched=True,
        evidence=[Evidence(field="title", start=0, end=6, text="Border", term="border")],
    )


def entry(
    key: str,
    title: str | None = None,
    summary: str = "",
    *,
    url: str | None = None,
    published: dt.datetime | None = None,
    notifiers: tuple[str, ...] = (),
    rule_id: str = "border-security",
    feed: str = "wire",
) -> PolledEntry:
    """An entry; with `notifiers`, one match of `rule_id` and an immediate alert to each."""
    matches = [rule_match(rule_id)] if notifiers else []
    alerts = [
        AlertSpec(notifier=name, rule_id=rule_id, payload={"entry": key}) for name in notifiers
    ]
    return PolledEntry(
        entry_key=key,
        article=article(title or f"Story {key}", summary, url=url, published=published, feed=feed),
        canonical_url=url,
        matches=matches,
        alerts=alerts,
    )


def primed_feed(store: Store, name: str = "wire", now: dt.datetime = T0) -> int:
    """A feed whose (empty) first poll is done, so that its next entries alert."""
    feed_id = add_feed(store, name, now)
    store.ingest(feed_id, [], now)
    return feed_id


def count(store: Store, table: str) -> int:
    with store.engine.connect() as connection:
        return connection.execute(sa.text(f'SELECT count(*) FROM "{table}"')).scalar_one()
