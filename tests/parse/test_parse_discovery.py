"""A web page where a feed was expected: the error names the feeds the page links to."""

from __future__ import annotations

import pytest

from tests.parse.conftest import Parse
from watcher.feeds.discovery import MAX_LINKS, MAX_URL_LENGTH, feed_links
from watcher.feeds.parse import FeedParseError

HTML = {"content-type": "text/html; charset=utf-8"}


def test_a_home_page_names_the_feeds_it_links_to_in_the_error(parse: Parse, feed_bytes) -> None:
    with pytest.raises(FeedParseError) as error:
        parse(feed_bytes("home_page.html"), HTML, url="https://gazette.example.net/")

    # The API alternate, the stylesheet, a repeated link, a javascript: link and a link in the
    # body are not named.
    assert str(error.value) == (
        "test-feed: an HTML page, not a feed (the page names its feeds: "
        "https://gazette.example.net/rss/all.xml, https://gazette.example.net/atom/border)"
    )


def test_links_resolve_against_where_the_page_came_from_and_its_base(parse: Parse) -> None:
    page = (
        b"<html><head><base href='/news/'>"
        b"<link rel=alternate type=application/rss+xml href=feed.xml></head><body></body></html>"
    )
    headers = {**HTML, "content-location": "https://moved.example.org/index.html"}
    with pytest.raises(
        FeedParseError, match=r"feeds: https://moved\.example\.org/news/feed\.xml\)$"
    ):
        parse(page, headers, url="https://old.example.org/")


def test_a_page_without_feed_links_says_only_that_it_is_a_page(parse: Parse, feed_bytes) -> None:
    with pytest.raises(FeedParseError, match=r"^test-feed: an HTML page, not a feed$"):
        parse(feed_bytes("html_page.html"), HTML)


def test_a_hostile_page_yields_few_short_printable_links() -> None:
    links = "".join(
        f"<link rel=alternate type=application/atom+xml href='/feed/{n}'>" for n in range(50)
    )
    long_link = f"<link rel=alternate type=application/rss+xml href='/{'a' * 400}'>"
    broken = "<link rel=alternate type=application/rss+xml href='/a\x1bb'>"
    page = f"<head>{long_link}{broken}{links}<![if".encode()

    found = feed_links(page, "https://example.org/")

    assert found == [f"https://example.org/feed/{n}" for n in range(MAX_LINKS)]
    assert all(len(url) <= MAX_URL_LENGTH and url.isprintable() for url in found)
