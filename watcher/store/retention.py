"""Retention: forget what is older than the configured number of days, and nothing that is
still needed.

- A seen entry is forgotten only when the feed stopped listing it more than `keep_days` ago.
  Entries its latest poll listed have `last_seen_at` equal to the feed's `listed_at` and are
  kept however long the feed then answers 304, because forgetting an entry the feed still
  lists would make it new again and alert a second time.
- Sent and dead alerts go after `keep_days`; pending alerts are never pruned, nor the articles
  and stories they point to.
- An article goes after `keep_days` (its matches with it), then a story none of the remaining
  articles or alerts belong to and that saw nothing new for `keep_days`.
- The near-duplicate index of a story goes as soon as the story has left the clustering window,
  since no new article is compared with it any more.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import and_, delete, exists, or_, select
from sqlalchemy.engine import Connection

from watcher.store.errors import StoreError
from watcher.store.schema import alert, article, feed, seen_entry, story, story_band
from watcher.store.values import PruneResult
from watcher.stories import WINDOW as stories_window


def prune(connection: Connection, now: dt.datetime, keep_days: float) -> PruneResult:
    if keep_days <= 0:
        raise StoreError(f"retention must be a positive number of days, got {keep_days}")
    cutoff = now - dt.timedelta(days=keep_days)
    alerts = connection.execute(
        delete(alert).where(
            alert.c.status.in_(("sent", "dead")),
            alert.c.created_at < cutoff,
            or_(alert.c.sent_at.is_(None), alert.c.sent_at < cutoff),
        )
    ).rowcount
    articles = connection.execute(
        delete(article).where(
            article.c.first_seen_at < cutoff,
            ~exists().where(alert.c.article_id == article.c.id),
        )
    ).rowcount
    stories = connection.execute(
        delete(story).where(
            story.c.last_seen_at < cutoff,
            ~exists().where(article.c.story_id == story.c.id),
            ~exists().where(alert.c.story_id == story.c.id),
        )
    ).rowcount
    connection.execute(
        delete(story_band).where(
            story_band.c.story_id.in_(
                select(story.c.id).where(story.c.last_seen_at < now - stories_window)
            )
        )
    )
    listed_at = select(feed.c.listed_at).where(feed.c.id == seen_entry.c.feed_id)
    seen_entries = connection.execute(
        delete(seen_entry).where(
            seen_entry.c.last_seen_at < cutoff,
            seen_entry.c.last_seen_at < listed_at.scalar_subquery(),
            # An entry whose article a pending alert still holds stays seen with it.
            ~exists().where(
                and_(
                    article.c.feed_id == seen_entry.c.feed_id,
                    article.c.entry_key == seen_entry.c.entry_key,
                )
            ),
        )
    ).rowcount
    return PruneResult(seen_entries=seen_entries, articles=articles, stories=stories, alerts=alerts)
