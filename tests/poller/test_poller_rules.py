"""The poller matches with the rules in force when it stores, wherever the matching ran."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.daemon.stories import BAKERY, BORDER
from tests.support.daemon import RULES
from tests.support.feeds import FeedSite
from tests.support.poller import one_feed, poller_parts
from watcher.matching import RuleSet, load_ruleset
from watcher.poller import Poller


def bakery_rules(directory: Path) -> RuleSet:
    directory.mkdir()
    (directory / "bakery.yaml").write_text(
        "id: bakery\ntitle: Bakery news\nseverity: medium\nmatch:\n  any: [sourdough]\n",
        encoding="utf-8",
    )
    return load_ruleset([directory]).ruleset


@pytest.fixture
async def poller(tmp_path: Path) -> AsyncIterator[tuple[Poller, FeedSite]]:
    with FeedSite() as site:
        url = site.feed("/wire", "Example Wire", [])
        settings = one_feed("wire", url)
        now = dt.datetime.now(dt.UTC)
        async with poller_parts(settings, tmp_path, now) as (store, fetcher, parser):
            rules = load_ruleset([RULES]).ruleset
            yield Poller(settings, store, fetcher, parser, rules), site


async def poll(poller: Poller) -> list[str]:
    [row] = poller.store.claim_due_feeds(
        "test", dt.datetime.now(dt.UTC), due_by=dt.datetime.max.replace(tzinfo=dt.UTC)
    )
    report = await poller.poll(row)
    assert report.error is None, report.error
    return sorted(f"{m.rule_id}: {entry.article.title}" for entry, ms in report.matches for m in ms)


async def test_new_entries_are_matched_and_seen_ones_are_not(poller) -> None:
    polling, site = poller
    assert await poll(polling) == []  # the first poll only marks what is there as seen
    site.publish("/wire", BORDER, BAKERY)
    assert await poll(polling) == [f"border-security: {BORDER.title}"]
    assert await poll(polling) == []


async def test_rules_reloaded_while_a_feed_is_parsed_decide_its_matches(
    poller, tmp_path: Path
) -> None:
    polling, site = poller
    await poll(polling)
    site.publish("/wire", BORDER, BAKERY)
    reloaded = bakery_rules(tmp_path / "reloaded")
    parse = polling.parser.parse

    async def parse_then_reload(*args, **kwargs):
        parsed = await parse(*args, **kwargs)  # matched in the worker with the old rules
        polling.reconfigure(polling.settings, reloaded)
        return parsed

    polling.parser.parse = parse_then_reload  # type: ignore[method-assign]
    assert await poll(polling) == [f"bakery: {BAKERY.title}"]
