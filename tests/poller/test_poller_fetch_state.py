"""What a fetch said, as the poller applies it: the validators a feed sent go back with the next
request, the server's timing hints and errors set the next check, and links resolve against
the URL the feed really came from."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.daemon.stories import BAKERY, BORDER
from tests.support.daemon import RULES, cli
from tests.support.feeds import RSS_TYPE, FeedSite, rss
from tests.support.httpserver import LoopbackServer, Reply, SeenRequest
from tests.support.poller import one_feed, poller_parts
from watcher.config import FeedSettings, Settings
from watcher.matching import load_ruleset
from watcher.poller import Poller, PollReport

START = dt.datetime.now(dt.UTC)
INTERVAL = dt.timedelta(minutes=5)
LAST_MODIFIED = "Tue, 20 May 2025 05:00:00 GMT"


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer() as running:
        yield running


@contextlib.asynccontextmanager
async def watching(url: str, directory: Path) -> AsyncIterator[Poller]:
    """A Poller of the one feed at `url`, whose own interval is 5 minutes."""
    settings = one_feed("wire", url)
    every_five = [feed.model_copy(update={"interval": INTERVAL}) for feed in settings.feeds]
    settings = settings.model_copy(update={"feeds": every_five})
    async with poller_parts(settings, directory, START) as (store, fetcher, parser):
        yield Poller(settings, store, fetcher, parser, load_ruleset([RULES]).ruleset)


async def poll(poller: Poller, now: dt.datetime) -> PollReport:
    [row] = poller.store.claim_due_feeds("test", now, due_by=dt.datetime.max.replace(tzinfo=dt.UTC))
    return await poller.poll(row, now)


def with_ttl(body: bytes, minutes: int) -> bytes:
    return body.replace(b"<channel>", f"<channel><ttl>{minutes}</ttl>".encode(), 1)


def error_count(poller: Poller) -> int:
    row = poller.store.feed("wire")
    assert row is not None
    return row.error_count


async def test_the_validators_a_feed_sent_go_back_and_its_304_is_not_modified(
    server: LoopbackServer, tmp_path: Path
) -> None:
    def answer(request: SeenRequest) -> Reply:
        if request.header("if-none-match") == '"v1"':
            return Reply(status=304, headers={"ETag": '"v1"'})
        validators = {"ETag": '"v1"', "Last-Modified": LAST_MODIFIED}
        return Reply(headers={**RSS_TYPE, **validators}, body=rss("Example Wire", [BAKERY]))

    server.route("/wire", answer)
    async with watching(server.url("/wire"), tmp_path) as poller:
        first = await poll(poller, START)
        second = await poll(poller, START + INTERVAL)

    assert (first.status, first.error, first.not_modified) == (200, None, False)
    # An unchanged 200 also counts as not modified: only the 304 shows the validators worked.
    assert (second.status, second.error, second.not_modified) == (304, None, True)
    before, after = server.requests_to("/wire")
    assert (before.header("if-none-match"), before.header("if-modified-since")) == (None, None)
    assert (after.header("if-none-match"), after.header("if-modified-since")) == (
        '"v1"',
        LAST_MODIFIED,
    )


async def test_validators_that_come_with_expires_0_are_not_sent_back(
    server: LoopbackServer, tmp_path: Path
) -> None:
    headers = {**RSS_TYPE, "ETag": '"v1"', "Last-Modified": LAST_MODIFIED, "Expires": "0"}
    server.route("/wire", Reply(headers=headers, body=rss("Example Wire", [BAKERY])))
    async with watching(server.url("/wire"), tmp_path) as poller:
        await poll(poller, START)
        second = await poll(poller, START + INTERVAL)

    _, again = server.requests_to("/wire")
    assert (again.header("if-none-match"), again.header("if-modified-since")) == (None, None)
    # The same body again is still known by its hash: not parsed a second time.
    assert (second.status, second.error, second.not_modified) == (200, None, True)


async def test_a_feeds_ttl_of_two_hours_outweighs_its_five_minute_interval(
    server: LoopbackServer, tmp_path: Path
) -> None:
    server.route("/wire", Reply(headers=RSS_TYPE, body=with_ttl(rss("Wire", [BAKERY]), 120)))
    async with watching(server.url("/wire"), tmp_path) as poller:
        first = await poll(poller, START)
        later = START + dt.timedelta(hours=2)
        changed = with_ttl(rss("Wire", [BAKERY, BORDER]), 120)
        server.route("/wire", Reply(headers=RSS_TYPE, body=changed))
        second = await poll(poller, later)
        row = poller.store.feed("wire")

    assert first.error is None and second.error is None
    assert first.next_check_at is not None and second.next_check_at is not None
    assert first.next_check_at - START >= dt.timedelta(hours=2)
    assert second.next_check_at - later >= dt.timedelta(hours=2)
    assert row is not None and row.next_check_at == second.next_check_at


async def test_a_feeds_ttl_still_holds_when_the_feed_has_not_changed(
    server: LoopbackServer, tmp_path: Path
) -> None:
    server.route("/wire", Reply(headers=RSS_TYPE, body=with_ttl(rss("Wire", [BAKERY]), 120)))
    async with watching(server.url("/wire"), tmp_path) as poller:
        await poll(poller, START)
        later = START + dt.timedelta(hours=2)
        unchanged = await poll(poller, later)

    assert unchanged.not_modified and unchanged.next_check_at is not None
    assert unchanged.next_check_at - later >= dt.timedelta(hours=2)


async def test_a_429_with_retry_after_an_hour_puts_the_next_check_an_hour_ahead(
    server: LoopbackServer, tmp_path: Path
) -> None:
    server.route("/wire", Reply(status=429, headers={"Retry-After": "3600"}))
    async with watching(server.url("/wire"), tmp_path) as poller:
        limited = await poll(poller, START)
        # The host is cooling down: this poll is not even sent, and still waits it out.
        later = START + INTERVAL
        deferred = await poll(poller, later)

    assert limited.status == 429 and limited.next_check_at is not None
    assert limited.next_check_at - START >= dt.timedelta(hours=1)
    assert deferred.next_check_at is not None
    # The cool-down runs on the real clock, a moment of which passed since the 429.
    assert deferred.next_check_at - later >= dt.timedelta(minutes=59)
    assert len(server.requests_to("/wire")) == 1


async def test_a_429_with_retry_after_is_not_counted_as_an_error(
    server: LoopbackServer, tmp_path: Path
) -> None:
    # Five errors in a row would tell the ops notifier the feed is broken: a pause is not one.
    server.route("/wire", Reply(status=429, headers={"Retry-After": "3600"}))
    async with watching(server.url("/wire"), tmp_path) as poller:
        await poll(poller, START)
        after_the_429 = error_count(poller)
        await poll(poller, START + dt.timedelta(hours=1))
        after_the_pause = error_count(poller)
        [status] = poller.store.feed_status()

    assert (after_the_429, after_the_pause) == (0, 0)
    assert (status.last_status, status.last_error) == (
        429,
        "HTTP 429 Too Many Requests; retry after 3600 s",
    )


async def test_pauses_past_the_pause_limit_count_as_errors_and_still_wait_as_asked(
    server: LoopbackServer, tmp_path: Path
) -> None:
    # A server that answers 503 with Retry-After forever would otherwise never read as broken.
    server.route("/wire", Reply(status=503, headers={"Retry-After": "1"}))
    async with watching(server.url("/wire"), tmp_path) as poller:
        within = await poll(poller, START + dt.timedelta(hours=23))
        await asyncio.sleep(1.2)  # the host's real-time cool-down of one second
        past = START + dt.timedelta(hours=25)
        counted = await poll(poller, past)
        after_the_limit = error_count(poller)

    assert within.paused and not counted.paused
    assert counted.error == "HTTP 503 Service Unavailable; retry after 1 s"
    assert after_the_limit == 1
    assert counted.next_check_at is not None and counted.next_check_at - past >= INTERVAL


async def test_a_pause_after_a_recent_success_is_not_counted_however_old_the_feed(
    server: LoopbackServer, tmp_path: Path
) -> None:
    paused = Reply(status=429, headers={"Retry-After": "1"})
    answers = iter([Reply(headers=RSS_TYPE, body=rss("Wire", [BAKERY])), paused])
    server.route("/wire", lambda request: next(answers))
    async with watching(server.url("/wire"), tmp_path) as poller:
        await poll(poller, START + dt.timedelta(days=3))
        limited = await poll(poller, START + dt.timedelta(days=3, hours=23))
        errors = error_count(poller)

    assert limited.paused and errors == 0


async def test_a_poll_its_host_held_back_leaves_the_feeds_health_as_it_was(
    server: LoopbackServer, tmp_path: Path
) -> None:
    # Two feeds on one host: the other one's 429 holds this one back, which is no success.
    server.route("/failing", Reply(status=500))
    server.route("/limited", Reply(status=429, headers={"Retry-After": "3600"}))
    feeds = [
        FeedSettings(name=name, url=server.url(f"/{name}"), interval=INTERVAL, allow_private=True)
        for name in ("failing", "limited")
    ]
    settings = Settings(feeds=feeds)
    async with poller_parts(settings, tmp_path, START) as (store, fetcher, parser):
        poller = Poller(settings, store, fetcher, parser, load_ruleset([RULES]).ruleset)
        rows = {row.name: row for row in store.claim_due_feeds("test", START, limit=10)}
        await poller.poll(rows["failing"], START)
        await poller.poll(rows["limited"], START)
        [row] = store.claim_due_feeds("test", START + INTERVAL, limit=10)
        held_back = await poller.poll(row, START + INTERVAL)
        failing = {status.name: status for status in store.feed_status()}["failing"]

    assert held_back.error is not None and held_back.error.startswith("not fetched")
    assert len(server.requests_to("/failing")) == 1
    assert (failing.error_count, failing.last_error) == (1, "HTTP 500 Internal Server Error")
    assert failing.last_success_at is None


async def test_validators_a_304_brings_replace_the_stored_ones(
    server: LoopbackServer, tmp_path: Path
) -> None:
    def answer(request: SeenRequest) -> Reply:
        if request.header("if-none-match") in ('"v1"', '"v2"'):
            return Reply(status=304, headers={"ETag": '"v2"'})
        return Reply(headers={**RSS_TYPE, "ETag": '"v1"'}, body=rss("Example Wire", [BAKERY]))

    server.route("/wire", answer)
    async with watching(server.url("/wire"), tmp_path) as poller:
        for minutes in (0, 5, 10):
            await poll(poller, START + dt.timedelta(minutes=minutes))

    sent = [request.header("if-none-match") for request in server.requests_to("/wire")]
    assert sent == [None, '"v1"', '"v2"']


async def test_a_feed_failing_poll_after_poll_backs_off_beyond_its_interval(
    server: LoopbackServer, tmp_path: Path
) -> None:
    server.route("/wire", Reply(status=500))
    waits = []
    async with watching(server.url("/wire"), tmp_path) as poller:
        for hour in range(6):
            now = START + dt.timedelta(hours=hour)
            report = await poll(poller, now)
            assert report.error == "HTTP 500 Internal Server Error"
            assert report.next_check_at is not None
            waits.append(report.next_check_at - now)
        errors = error_count(poller)

    # The ceiling starts at the interval and doubles every two errors in a row; the wait is
    # drawn between the interval and the ceiling, so above the interval once it has doubled.
    assert waits[:2] == [INTERVAL, INTERVAL]
    assert all(INTERVAL < wait <= 2 * INTERVAL for wait in waits[2:4]), waits
    assert all(INTERVAL < wait <= 4 * INTERVAL for wait in waits[4:]), waits
    assert errors == 6


async def test_relative_links_resolve_against_the_url_a_redirect_led_to(tmp_path: Path) -> None:
    with FeedSite() as site:
        site.feed("/x/feed.xml", "Example Wire", [dataclasses.replace(BAKERY, link="a/0")])
        url = site.route("/wire", Reply.redirect("/x/feed.xml", status=302))
        async with watching(url, tmp_path) as poller:
            assert (await poll(poller, START)).error is None
            site.publish("/x/feed.xml", dataclasses.replace(BORDER, link="a/1"))
            report = await poll(poller, START + INTERVAL)

        assert report.error is None
        assert [entry.article.url for entry, _ in report.matches] == [site.url("/x/a/1")]


async def test_status_shows_how_long_the_server_took_and_how_late_the_poll_started(
    server: LoopbackServer, tmp_path: Path
) -> None:
    server.route("/wire", Reply(headers=RSS_TYPE, body=rss("Wire", [BAKERY]), delay=0.3))
    async with watching(server.url("/wire"), tmp_path) as poller:
        [row] = poller.store.claim_due_feeds("test", START)
        # The scheduler started it four minutes after it was due.
        await poller.poll(row, START, late=4 * dt.timedelta(minutes=1))
        [status] = poller.store.feed_status()
    config = tmp_path / "watcher.toml"
    config.write_text(f'[store]\nurl = "sqlite:///{tmp_path / "watcher.db"}"\n', "utf-8")
    shown = cli("status", "--config", str(config))

    assert status.last_fetch_seconds is not None and 0.3 <= status.last_fetch_seconds < 30
    assert status.last_late_seconds == 240.0
    assert shown.returncode == 0, shown.stderr
    header, line = shown.stdout.splitlines()[:2]
    assert header.split()[:6] == ["feed", "last", "poll", "late", "took", "HTTP"]
    name, _day, _time, late, took, unit, http = line.split()[:7]
    assert (name, late, f"{took} {unit}", http) == (
        "wire",
        "4m",
        f"{status.last_fetch_seconds:.1f} s",
        "200",
    )
