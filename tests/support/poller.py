"""What a Poller runs on in tests: one feed's settings, a SQLite store, a fetcher and parsers."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

from watcher.config import FeedSettings, Settings
from watcher.feeds.fetch import Fetcher
from watcher.feeds.worker import ParserPool
from watcher.runtime import http_limits, parser_pool
from watcher.store import Store


def one_feed(name: str, url: str) -> Settings:
    """Settings with one feed on a loopback server."""
    return Settings(feeds=[FeedSettings(name=name, url=url, allow_private=True)])


@contextlib.asynccontextmanager
async def poller_parts(
    settings: Settings, directory: Path, now: dt.datetime
) -> AsyncIterator[tuple[Store, Fetcher, ParserPool]]:
    """A store in `directory` that knows the settings' feeds (as of `now`), a fetcher and a
    parser pool sized by the settings."""
    with Store.open(f"sqlite:///{directory / 'watcher.db'}") as store:
        store.sync_feeds(settings.feeds, now)
        async with (
            Fetcher(http_limits(settings.http)) as fetcher,
            parser_pool(settings.poll) as parser,
        ):
            yield store, fetcher, parser
