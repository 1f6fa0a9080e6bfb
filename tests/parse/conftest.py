"""Shared helpers for the feed parsing tests: hand-written feeds live in `feeds/`."""

from __future__ import annotations

import datetime as dt
import pathlib
from collections.abc import Callable, Mapping

import pytest

from watcher.feeds.parse import FeedContext, ParsedFeed, parse_feed

FEEDS = pathlib.Path(__file__).parent / "feeds"
#: The poll time of every test unless a test says otherwise.
FETCHED_AT = dt.datetime(2025, 5, 20, 5, 30, tzinfo=dt.UTC)

Parse = Callable[..., ParsedFeed]


@pytest.fixture
def feed_bytes() -> Callable[[str], bytes]:
    return lambda name: (FEEDS / name).read_bytes()


@pytest.fixture
def parse() -> Parse:
    """parse_feed with a default context: `parse(body, headers=None, fetched_at=…, **context)`."""

    def run(
        body: bytes,
        headers: Mapping[str, str] | None = None,
        *,
        fetched_at: dt.datetime = FETCHED_AT,
        **context: str,
    ) -> ParsedFeed:
        feed = FeedContext(
            **{"name": "test-feed", "url": "https://feeds.example.org/rss", **context}
        )
        return parse_feed(body, headers or {}, feed=feed, fetched_at=fetched_at)

    return run
