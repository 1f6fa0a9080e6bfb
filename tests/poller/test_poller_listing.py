"""Entries a feed listed at its last stored poll are seen: the parser worker leaves them alone.
The poller remembers the listings it stored, and trusts its memory only while the store's
latest listing of the feed is that one; otherwise it reads the listing from the store."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.daemon.stories import BAKERY, BORDER, BORDER_STORIES, HARBOUR
from tests.support.daemon import RULES
from tests.support.feeds import FeedSite, Item
from tests.support.httpserver import Reply
from tests.support.poller import one_feed, poller_parts
from watcher.config import Settings
from watcher.feeds.fetch import Fetcher
from watcher.feeds.parse import ParsedFeed
from watcher.feeds.worker import ParserPool
from watcher.matching import load_ruleset
from watcher.poller import Poller
from watcher.store import Store

START = dt.datetime.now(dt.UTC)


Setup = tuple[FeedSite, Settings, Store, Fetcher, ParserPool]


def record_parses(poller: Poller) -> list[ParsedFeed]:
    """What each of the poller's parses returns from now on, in order."""
    parse = poller.parser.parse
    parsed: list[ParsedFeed] = []

    async def recording_parse(*args, **kwargs) -> ParsedFeed:
        parsed.append(await parse(*args, **kwargs))
        return parsed[-1]

    poller.parser.parse = recording_parse  # type: ignore[method-assign]
    return parsed


@pytest.fixture
async def setup(tmp_path: Path) -> AsyncIterator[Setup]:
    with FeedSite() as site:
        url = site.feed("/wire", "Example Wire", [BAKERY])
        settings = one_feed("wire", url)
        async with poller_parts(settings, tmp_path, START) as (store, fetcher, parser):
            yield site, settings, store, fetcher, parser


def new_poller(setup: Setup) -> Poller:
    _, settings, store, fetcher, parser = setup
    return Poller(settings, store, fetcher, parser, load_ruleset([RULES]).ruleset)


async def poll(poller: Poller, now: dt.datetime) -> list[str]:
    [row] = poller.store.claim_due_feeds("test", now, due_by=dt.datetime.max.replace(tzinfo=dt.UTC))
    report = await poller.poll(row, now)
    assert report.error is None, report.error
    return sorted(f"{m.rule_id}: {entry.article.title}" for entry, ms in report.matches for m in ms)


def matched_in_worker(parsed: ParsedFeed) -> dict[str, bool]:
    return {entry.article.title: entry.matches is not None for entry in parsed.entries}


async def test_entries_the_last_stored_poll_listed_come_back_as_keys_alone(setup) -> None:
    site = setup[0]
    poller = new_poller(setup)
    parsed = record_parses(poller)
    assert await poll(poller, START) == []  # first poll: marks the bakery story seen
    site.publish("/wire", BORDER)
    assert await poll(poller, START + dt.timedelta(minutes=5)) == [
        f"border-security: {BORDER.title}"
    ]
    site.publish("/wire", HARBOUR)
    assert await poll(poller, START + dt.timedelta(minutes=10)) == [
        f"border-security: {HARBOUR.title}"
    ]
    # Seen entries with guids are not even normalized: only their keys come back.
    assert matched_in_worker(parsed[1]) == {BORDER.title: True}
    assert parsed[1].seen_keys == ["guid:bakery-1"]
    assert matched_in_worker(parsed[2]) == {HARBOUR.title: True}
    assert sorted(parsed[2].seen_keys) == ["guid:bakery-1", "guid:border-1"]


async def test_a_first_poll_builds_no_entry_whose_guid_names_it(setup) -> None:
    """A first poll only marks the entries seen, so the worker sends back the keys of those
    whose guids alone give them, and builds none; the next poll alerts on what is new."""
    site = setup[0]
    poller = new_poller(setup)
    parsed = record_parses(poller)
    assert await poll(poller, START) == []
    assert parsed[0].entries == [] and parsed[0].seen_keys == ["guid:bakery-1"]
    site.publish("/wire", BORDER)
    assert await poll(poller, START + dt.timedelta(minutes=5)) == [
        f"border-security: {BORDER.title}"
    ]


async def test_a_first_poll_that_lost_the_race_to_another_poll_stores_nothing(setup) -> None:
    """A poll that took the feed for new (its row said so) while another poll of it went in
    (a lease that ran out, a second node) is refused whole: it gave entries as keys alone
    that may be new by now. The next poll reads them and alerts."""
    site = setup[0]
    poller = new_poller(setup)
    [row] = poller.store.claim_due_feeds(
        "test", START, due_by=dt.datetime.max.replace(tzinfo=dt.UTC)
    )
    assert (await poller.poll(row, START)).error is None
    site.publish("/wire", BORDER)
    late = await poller.poll(row, START + dt.timedelta(minutes=1))  # the stale row: unprimed
    assert late.error == (
        "feed 'wire': parsed as its first poll, but another poll of it went in meanwhile; its "
        "entries are read at the next poll"
    )
    assert await poll(poller, START + dt.timedelta(minutes=5)) == [
        f"border-security: {BORDER.title}"
    ]


async def test_a_first_poll_that_alerts_on_its_newest_entries_builds_them(setup) -> None:
    site, settings, store, fetcher, parser = setup
    site.feed("/wire", "Example Wire", [BAKERY, BORDER])
    alerting = settings.poll.model_copy(update={"first_poll_alerts": 2})
    settings = settings.model_copy(update={"poll": alerting})
    poller = Poller(settings, store, fetcher, parser, load_ruleset([RULES]).ruleset)
    parsed = record_parses(poller)
    assert await poll(poller, START) == [f"border-security: {BORDER.title}"]
    assert parsed[0].seen_keys == []
    assert [e.article.title for e in parsed[0].entries] == [BAKERY.title, BORDER.title]


async def test_seen_entries_keyed_by_link_are_normalized_but_not_matched(setup) -> None:
    site, settings, store, fetcher, parser = setup
    by_link = [feed.model_copy(update={"entry_key": "link"}) for feed in settings.feeds]
    settings = settings.model_copy(update={"feeds": by_link})
    poller = Poller(settings, store, fetcher, parser, load_ruleset([RULES]).ruleset)
    parsed = record_parses(poller)
    await poll(poller, START)
    site.publish("/wire", BORDER)
    assert await poll(poller, START + dt.timedelta(minutes=5)) == [
        f"border-security: {BORDER.title}"
    ]
    assert parsed[1].seen_keys == []
    assert matched_in_worker(parsed[1]) == {BAKERY.title: False, BORDER.title: True}
    [unmatched] = [e for e in parsed[1].entries if e.article.title == BAKERY.title]
    assert unmatched.story_keys is None
    assert await poll(poller, START + dt.timedelta(minutes=10)) == []


async def test_a_poller_that_never_stored_the_feed_reads_its_listing_from_the_store(
    setup,
) -> None:
    """After a restart (or in `watcher poll --once`), the store says what the feed listed."""
    site = setup[0]
    await poll(new_poller(setup), START)
    site.publish("/wire", BORDER)
    restarted = new_poller(setup)
    parsed = record_parses(restarted)
    assert await poll(restarted, START + dt.timedelta(minutes=5)) == [
        f"border-security: {BORDER.title}"
    ]
    assert parsed[0].seen_keys == ["guid:bakery-1"]
    assert matched_in_worker(parsed[0]) == {BORDER.title: True}


async def test_a_listing_stored_by_another_node_since_is_not_trusted(setup) -> None:
    """Node A remembers that the feed listed BORDER; node B then stores a listing without it;
    retention forgets BORDER; the feed lists it again. For the store it is new, so A must
    match it (and alert), not skip it as seen."""
    site = setup[0]
    node_a, node_b = new_poller(setup), new_poller(setup)
    site.feed("/wire", "Example Wire", [BORDER])
    assert await poll(node_a, START) == []  # first poll: BORDER marked seen
    site.feed("/wire", "Example Wire", [BAKERY])
    later = START + dt.timedelta(days=1)
    assert await poll(node_b, later) == []
    forgotten = node_a.store.prune(later + dt.timedelta(days=40), keep_days=30)
    assert forgotten.seen_entries == 1
    site.feed("/wire", "Example Wire", [BORDER, BAKERY])
    assert await poll(node_a, later + dt.timedelta(days=41)) == [f"border-security: {BORDER.title}"]


async def test_a_reload_keeps_the_listings_of_feeds_still_configured(setup) -> None:
    poller = new_poller(setup)
    await poll(poller, START)
    assert [name for name, _, _ in poller.listings.values()] == ["wire"]
    poller.reconfigure(poller.settings, poller.rules)
    assert [name for name, _, _ in poller.listings.values()] == ["wire"]
    poller.reconfigure(poller.settings.model_copy(update={"feeds": []}), poller.rules)
    assert poller.listings == {}


@pytest.mark.parametrize("entry_key", ["auto", "link"])
async def test_full_text_pages_of_seen_entries_are_not_fetched_again(setup, entry_key) -> None:
    site, settings, store, fetcher, parser = setup
    page = Reply(
        headers={"Content-Type": "text/html; charset=utf-8"},
        body=b"<html><body><article><p>" + b"Guards doubled the patrols. " * 20 + b"</p>"
        b"</article></body></html>",
    )
    first = Item("page-1", "Bakery opens a second shop", "Bread.", link=site.route("/a", page))
    second = Item("page-2", "Drones join border patrols", "Guards.", link=site.route("/b", page))
    site.feed("/wire", "Example Wire", [first])
    full_text = [
        feed.model_copy(update={"full_text": True, "allow_private": True, "entry_key": entry_key})
        for feed in settings.feeds
    ]
    settings = settings.model_copy(update={"feeds": full_text})
    poller = Poller(settings, store, fetcher, parser, load_ruleset([RULES]).ruleset)
    await poll(poller, START)
    site.publish("/wire", second)
    await poll(poller, START + dt.timedelta(minutes=5))
    # The first poll only marks its entries seen: it fetches no page at all.
    assert (site.polls("/a"), site.polls("/b")) == (0, 1)


async def test_a_feed_whose_entries_all_changed_between_polls_warns_of_missed_ones(
    setup, caplog: pytest.LogCaptureFixture
) -> None:
    site = setup[0]
    poller = new_poller(setup)
    await poll(poller, START)
    site.feed("/wire", "Example Wire", [BORDER, HARBOUR])  # BAKERY gone, two new: a gap?
    [row] = poller.store.claim_due_feeds(
        "test", START, due_by=dt.datetime.max.replace(tzinfo=dt.UTC)
    )
    report = await poller.poll(row, START + dt.timedelta(minutes=5))
    assert report.missed_entries_warning
    assert "wire: all 2 entries were new: entries were probably missed between polls" in (
        caplog.text
    )
    # It outran its 15-minute interval: the next look comes in half of it.
    assert report.next_check_at == START + dt.timedelta(minutes=5 + 7.5)
    site.publish("/wire", BORDER_STORIES[2])  # one new beside two seen: no warning
    [row] = poller.store.claim_due_feeds(
        "test", START, due_by=dt.datetime.max.replace(tzinfo=dt.UTC)
    )
    caught_up = await poller.poll(row, START + dt.timedelta(minutes=10))
    assert not caught_up.missed_entries_warning
    # Back on its grid of 15 minutes: the point of it nearest to a full interval ahead.
    assert caught_up.next_check_at is not None
    assert caught_up.next_check_at - START > dt.timedelta(minutes=10 + 7.5)
