"""Feeds whose entries share one link (a podcast's episodes all pointing at the show's page, a
live page's updates): every entry is new once and alerts, with or without guids."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.daemon.stories import BORDER_STORIES
from tests.support.daemon import RULES
from tests.support.feeds import FeedSite, Item
from tests.support.poller import one_feed, poller_parts
from watcher.matching import load_ruleset
from watcher.poller import Poller

START = dt.datetime.now(dt.UTC)
SHOW = "https://radio.example/border-watch"


def episode(story: Item, *, with_guid: bool) -> Item:
    return dataclasses.replace(story, guid=story.guid if with_guid else None, link=SHOW)


@pytest.fixture
async def poller(tmp_path: Path) -> AsyncIterator[tuple[FeedSite, Poller]]:
    with FeedSite() as site:
        url = site.feed("/show", "Border Watch")
        settings = one_feed("show", url)
        async with poller_parts(settings, tmp_path, START) as (store, fetcher, parser):
            rules = load_ruleset([RULES]).ruleset
            yield site, Poller(settings, store, fetcher, parser, rules)


async def poll(poller: Poller, now: dt.datetime) -> list[str]:
    """The titles of the entries that matched and queued an alert (stories alert once)."""
    [row] = poller.store.claim_due_feeds("test", now, due_by=dt.datetime.max.replace(tzinfo=dt.UTC))
    report = await poller.poll(row, now)
    assert report.error is None, report.error
    assert report.alerts == len(report.matches)
    return sorted(entry.article.title for entry, _ in report.matches)


@pytest.mark.parametrize("with_guid", [True, False], ids=["guids", "no-guids"])
async def test_every_episode_linking_to_the_show_alerts(poller, with_guid: bool) -> None:
    site, watcher = poller
    *back_catalogue, second, third = (episode(s, with_guid=with_guid) for s in BORDER_STORIES)
    site.publish("/show", *back_catalogue)
    assert await poll(watcher, START) == []  # the first poll marks what is there as seen
    site.publish("/show", second)
    assert await poll(watcher, START + dt.timedelta(minutes=5)) == [second.title]
    site.publish("/show", third)
    assert await poll(watcher, START + dt.timedelta(minutes=10)) == [third.title]
    assert await poll(watcher, START + dt.timedelta(minutes=15)) == []
