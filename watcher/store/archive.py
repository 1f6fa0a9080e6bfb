"""Reading stored articles back with the verdicts they got when they were stored.

Rules are replayed over them (`watcher replay`): pages go by article id (keyset), each page in
its own short read transaction, so a month of articles streams in bounded memory and never
holds a snapshot open while the rules run.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.engine import Connection

from watcher.article import Article
from watcher.store.schema import article, feed, match
from watcher.store.values import StoredArticle


def stored_articles(
    connection: Connection, since: dt.datetime | None, after_id: int, limit: int
) -> list[StoredArticle]:
    """Up to `limit` articles with ids above `after_id`, first seen at or after `since`."""
    query = (
        select(article.c.id, feed.c.name, article.c.first_seen_at, article.c.data)
        .join(feed, feed.c.id == article.c.feed_id)
        .where(article.c.id > after_id)
        .order_by(article.c.id)
        .limit(limit)
    )
    if since is not None:
        query = query.where(article.c.first_seen_at >= since)
    rows = connection.execute(query).all()
    if not rows:
        return []
    scores: dict[int, dict[str, float]] = defaultdict(dict)
    verdicts = connection.execute(
        select(match.c.article_id, match.c.rule_id, match.c.score).where(
            match.c.article_id.between(rows[0].id, rows[-1].id)
        )
    )
    for verdict in verdicts:
        scores[verdict.article_id][verdict.rule_id] = verdict.score
    return [
        StoredArticle(
            id=row.id,
            feed=row.name,
            first_seen_at=row.first_seen_at,
            article=Article.model_validate(row.data),
            matched=scores.get(row.id, {}),
        )
        for row in rows
    ]
