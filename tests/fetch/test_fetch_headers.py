"""A feed's own request headers: sent, checked, and kept to the origin the user configured
when they carry credentials."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import httpx
import pytest

from tests.support.feeds import FeedSite, Item
from tests.support.httpserver import LoopbackServer, Reply
from watcher.config import PollSettings
from watcher.feeds.fetch import Fetcher, Outcome
from watcher.feeds.headers import (
    FeedHeaders,
    feed_headers,
    header_problem,
    headers_problems,
    merged,
)
from watcher.feeds.parse import FeedContext
from watcher.feeds.read import read_feed
from watcher.runtime import parser_pool

FEED = Reply(headers={"Content-Type": "application/rss+xml"}, body=b"<rss/>")
HEADERS = {
    "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0",
    "Accept-Language": "de",
    "Authorization": "Bearer s3cret",
    "Cookie": "session=abc",
    "X-Api-Key": "${FEED_KEY}",
}
SECRETS = {"${FEED_KEY}": "k-123"}
NOT_A_VALUE = "a line break, a control character or a character outside ASCII"


def _resolve(value: str) -> str:
    return SECRETS.get(value, value)


@pytest.fixture
def other() -> Iterator[LoopbackServer]:
    """A second server: another origin (another port)."""
    with LoopbackServer() as running:
        yield running


async def test_a_feeds_headers_reach_the_server_and_replace_the_defaults(
    server: LoopbackServer, fetcher: Fetcher
) -> None:
    server.route("/feed", FEED)
    own = {**HEADERS, "accept": "application/rss+xml"}
    headers = feed_headers(server.url("/feed"), own, _resolve)

    result = await fetcher.fetch(server.url("/feed"), headers=headers)

    assert result.outcome is Outcome.FETCHED
    (seen,) = server.requests_to("/feed")
    assert seen.header("user-agent") == HEADERS["User-Agent"]
    # One Accept: the feed's, not watcher's beside it.
    assert seen.header("accept") == "application/rss+xml"
    assert seen.header("accept-language") == "de"
    assert seen.header("authorization") == "Bearer s3cret"
    assert seen.header("cookie") == "session=abc"
    assert seen.header("x-api-key") == "k-123"


async def test_without_headers_watcher_sends_its_own_user_agent(
    server: LoopbackServer, fetcher: Fetcher
) -> None:
    server.route("/feed", FEED)

    await fetcher.fetch(server.url("/feed"))

    (seen,) = server.requests_to("/feed")
    assert seen.header("user-agent") == fetcher.limits.user_agent
    assert seen.header("authorization") is None


async def test_credentials_do_not_follow_a_redirect_to_another_server(
    server: LoopbackServer, other: LoopbackServer, fetcher: Fetcher
) -> None:
    server.route("/feed", Reply.redirect(other.url("/feed")))
    other.route("/feed", FEED)
    headers = feed_headers(server.url("/feed"), HEADERS, _resolve)

    result = await fetcher.fetch(server.url("/feed"), headers=headers)

    assert result.outcome is Outcome.FETCHED
    (first,) = server.requests_to("/feed")
    (moved,) = other.requests_to("/feed")
    assert first.header("authorization") == "Bearer s3cret"
    assert first.header("x-api-key") == "k-123"
    # The User-Agent goes along (the next server may refuse bots too); credentials do not.
    assert moved.header("user-agent") == HEADERS["User-Agent"]
    assert moved.header("accept-language") == "de"
    assert moved.header("authorization") is None
    assert moved.header("cookie") is None
    assert moved.header("x-api-key") is None


async def test_credentials_follow_a_redirect_within_the_origin(
    server: LoopbackServer, fetcher: Fetcher
) -> None:
    server.route("/old", Reply.redirect("/feed", status=301))
    server.route("/feed", FEED)
    headers = feed_headers(server.url("/old"), HEADERS, _resolve)

    await fetcher.fetch(server.url("/old"), headers=headers)

    (moved,) = server.requests_to("/feed")
    assert moved.header("authorization") == "Bearer s3cret"
    assert moved.header("x-api-key") == "k-123"


async def test_a_feed_moved_to_another_server_gets_no_credentials_there(
    server: LoopbackServer, other: LoopbackServer, fetcher: Fetcher
) -> None:
    # After a permanent redirect the poller fetches the new URL; the headers still belong to
    # the URL in the config.
    other.route("/feed", FEED)
    headers = feed_headers(server.url("/feed"), HEADERS, _resolve)

    await fetcher.fetch(other.url("/feed"), headers=headers)

    (seen,) = other.requests_to("/feed")
    assert seen.header("user-agent") == HEADERS["User-Agent"]
    assert seen.header("authorization") is None
    assert seen.header("x-api-key") is None


async def test_refusals_say_what_the_user_can_do(server: LoopbackServer, fetcher: Fetcher) -> None:
    server.route("/login", Reply(status=401))
    server.route("/bots", Reply(status=403))

    login = await fetcher.fetch(server.url("/login"))
    bots = await fetcher.fetch(server.url("/bots"))

    assert login.error is not None and login.error.startswith("HTTP 401 Unauthorized (")
    assert "Authorization" in login.error and "`headers`" in login.error
    assert bots.error is not None and bots.error.startswith("HTTP 403 Forbidden (")
    assert "User-Agent" in bots.error and "--header" in bots.error


def test_header_problems_name_the_header_and_never_its_value() -> None:
    assert headers_problems({"User-Agent": "x", "X-Token": "y"}) == []
    assert header_problem("Bad Name", "v") == (
        "'Bad Name' is not an HTTP header name (letters, digits and !#$%&'*+-.^_`|~ only)"
    )
    assert header_problem("If-None-Match", '"abc"') == (
        "'If-None-Match' cannot be set: watcher sends it for conditional GETs"
    )
    assert header_problem("Accept-Encoding", "br") == (
        "'Accept-Encoding' cannot be set: watcher sends it and caps what each coding decodes to"
    )
    assert header_problem("Cookie", "a=1\r\nX-Evil: 1") == (
        f"the value of 'Cookie' holds {NOT_A_VALUE}"
    )
    assert (
        header_problem("User-Agent", "Mözilla") == f"the value of 'User-Agent' holds {NOT_A_VALUE}"
    )
    assert header_problem("User-Agent", "Mozilla/5.0 (X11;\tLinux)") is None
    assert headers_problems({"user-agent": "a", "User-Agent": "b"}) == [
        "'user-agent' and 'User-Agent' are the same header"
    ]


def test_a_secret_with_a_line_break_is_refused_without_showing_it() -> None:
    with pytest.raises(ValueError) as refused:
        feed_headers("https://example.org/feed", {"X-Key": "${K}"}, lambda v: "a\nb")

    assert str(refused.value) == (f"the secret in header 'X-Key' holds {NOT_A_VALUE}")


def test_a_header_is_sent_once_whatever_the_case_of_its_name() -> None:
    assert merged({"Accept": "a", "X-One": "1"}, {"accept": "b"}) == {"X-One": "1", "accept": "b"}


def test_ports_and_schemes_are_part_of_the_origin() -> None:
    headers = feed_headers("https://example.org/feed", {"Cookie": "c=1"}, _resolve)
    assert headers is not None

    assert headers.for_url(httpx.URL("https://example.org:443/other")) == {"Cookie": "c=1"}
    assert headers.for_url(httpx.URL("http://example.org/feed")) == {}
    assert headers.for_url(httpx.URL("https://example.org:8443/feed")) == {}
    assert headers.for_url(httpx.URL("https://cdn.example.org/feed")) == {}


async def test_article_pages_of_a_full_text_feed_get_the_feeds_headers(
    other: LoopbackServer, fetcher: Fetcher
) -> None:
    page = Reply(
        headers={"Content-Type": "text/html; charset=utf-8"},
        body=b"<html><body><article><p>" + b"Guards doubled the patrols. " * 20 + b"</p>"
        b"</article></body></html>",
    )
    with FeedSite() as site:
        same_origin = site.route("/a", page)
        other.route("/b", page)
        url = site.feed(
            "/wire",
            "Example Wire",
            [
                Item("a", "Patrols doubled", "Guards.", link=same_origin),
                Item("b", "Patrols doubled elsewhere", "Guards.", link=other.url("/b")),
            ],
        )
        headers = feed_headers(url, HEADERS, _resolve)
        async with parser_pool(PollSettings()) as parser:
            read = await read_feed(
                fetcher,
                parser,
                FeedContext(name="wire", url=url),
                now=dt.datetime.now(dt.UTC),
                full_text=True,
                allow_private=True,
                headers=headers,
            )
        (on_site,) = site.server.requests_to("/a")

    assert read.error is None and not read.full_text_problems
    (elsewhere,) = other.requests_to("/b")
    assert on_site.header("cookie") == "session=abc"
    assert elsewhere.header("user-agent") == HEADERS["User-Agent"]
    assert elsewhere.header("cookie") is None


def test_an_unreadable_configured_url_sends_credentials_nowhere() -> None:
    headers = feed_headers("https://example.org:abc/feed", {"Cookie": "c=1"}, _resolve)
    assert headers is not None

    assert headers.for_url(httpx.URL("https://example.org/feed")) == {}
    assert headers.for_url(httpx.URL("https://example.org:443/feed")) == {}


async def test_whitespace_around_a_value_is_dropped_and_a_refused_header_is_never_echoed(
    server: LoopbackServer, fetcher: Fetcher
) -> None:
    server.route("/feed", FEED)
    padded = feed_headers(server.url("/feed"), {"Authorization": " Bearer s3cret\t"}, _resolve)

    sent = await fetcher.fetch(server.url("/feed"), headers=padded)

    assert sent.outcome is Outcome.FETCHED
    assert server.requests_to("/feed")[0].header("authorization") == "Bearer s3cret"
    # Built past the checks, a header the HTTP library refuses: its error names no value.
    unsendable = FeedHeaders(("http", "127.0.0.1", server.port), {"X-Key": " s3cret "})
    refused = await fetcher.fetch(server.url("/feed"), headers=unsendable)
    assert refused.error == (
        "the request could not be sent: the HTTP library refused a header of it"
    )
