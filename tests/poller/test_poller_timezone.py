"""A feed's configured time zone reaches the parser: its dates without a zone are read there."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from tests.daemon.stories import BORDER
from tests.support.daemon import RULES
from tests.support.feeds import FeedSite
from tests.support.httpserver import Reply
from tests.support.poller import poller_parts
from watcher.config import FeedSettings, Settings
from watcher.matching import load_ruleset
from watcher.poller import Poller

RSS_TYPE = {"Content-Type": "application/rss+xml; charset=utf-8"}


def feed(*items: tuple[str, str]) -> Reply:
    """An RSS feed of (guid, pubDate) items telling the same border story."""
    entries = "".join(
        f"<item><title>{BORDER.title}</title><guid>{guid}</guid>"
        f"<description>{BORDER.summary}</description><pubDate>{date}</pubDate></item>"
        for guid, date in items
    )
    body = f'<rss version="2.0"><channel><title>Desk</title>{entries}</channel></rss>'
    return Reply(headers=RSS_TYPE, body=body.encode())


async def test_dates_without_a_zone_are_read_in_the_feeds_time_zone(tmp_path: Path) -> None:
    wall = dt.datetime.now(dt.UTC).astimezone(dt.timezone(dt.timedelta(hours=8)))
    written = (wall - dt.timedelta(minutes=5)).strftime("%Y-%m-%d %H:%M:%S")  # Beijing time
    with FeedSite() as site:
        url = site.route("/desk", feed(("old", "2025-01-01 08:00:00")))
        desk = FeedSettings(name="desk", url=url, allow_private=True, timezone="Asia/Shanghai")
        settings = Settings(feeds=[desk])
        now = dt.datetime.now(dt.UTC)
        async with poller_parts(settings, tmp_path, now) as (store, fetcher, parser):
            poller = Poller(settings, store, fetcher, parser, load_ruleset([RULES]).ruleset)
            due = dt.datetime.max.replace(tzinfo=dt.UTC)
            [row] = store.claim_due_feeds("test", now, due_by=due)
            await poller.poll(row)  # the first poll marks what is listed as seen
            site.route("/desk", feed(("new", written), ("old", "2025-01-01 08:00:00")))
            [row] = store.claim_due_feeds("test", dt.datetime.now(dt.UTC), due_by=due)
            report = await poller.poll(row)

    [(entry, _)] = report.matches
    assert not entry.date_fallback
    assert entry.article.age == "5 minutes ago"
    assert entry.article.published_at.utcoffset() == dt.timedelta(0)
    assert abs(entry.article.published_at - (now - dt.timedelta(minutes=5))) < dt.timedelta(
        minutes=1
    )
