"""Settings → the objects each stage takes (the stages never read settings themselves)."""

from __future__ import annotations

import gc

from watcher.config import FeedSettings, HttpSettings, PollSettings, Settings
from watcher.feeds.fetch import HttpLimits
from watcher.feeds.parse import FeedContext
from watcher.feeds.worker import ParserPool


def http_limits(http: HttpSettings) -> HttpLimits:
    return HttpLimits(
        user_agent=http.user_agent,
        max_wire_bytes=http.max_bytes,
        max_decoded_bytes=http.max_decoded_bytes,
        deadline=http.deadline.total_seconds(),
        connect_timeout=http.connect_timeout.total_seconds(),
        read_timeout=http.read_timeout.total_seconds(),
        max_redirects=http.max_redirects,
        concurrency=http.concurrency,
        per_host=http.per_host,
        link_ports=frozenset(http.link_ports),
    )


def feed_context(feed: FeedSettings, url: str | None = None) -> FeedContext:
    identity = (
        "auto"
        if feed.entry_key == "auto"
        else {"guid": "auto", "link": "link", "title": "text"}[feed.entry_key]
    )
    return FeedContext(
        name=feed.name,
        url=url or feed.url,
        section=feed.section,
        source=feed.source,
        language=feed.language,
        identity=identity,
        timezone=feed.timezone,
    )


def parser_pool(poll: PollSettings) -> ParserPool:
    return ParserPool(max_workers=poll.parser_workers, memory_limit=poll.parser_memory_mb * 2**20)


def needing_restart(old: Settings, new: Settings) -> list[str]:
    """The changed settings a reload cannot apply: the store, the HTTP client and the parser
    workers are built once, at start."""
    changed = []
    if old.store.url != new.store.url:
        changed.append("[store] url")
    if http_limits(old.http) != http_limits(new.http):
        changed.append("[http] limits and user_agent")
    if (old.poll.parser_workers, old.poll.parser_memory_mb) != (
        new.poll.parser_workers,
        new.poll.parser_memory_mb,
    ):
        changed.append("[poll] parser_workers and parser_memory_mb")
    return changed


def freeze_long_lived_objects() -> None:
    """Leave the objects alive now (settings, rules, the store's and HTTP client's machinery)
    out of every future garbage collection.

    A poll cycle creates many short-lived containers (parsed articles arriving from the
    workers), which triggers full collections, and each full collection walked the whole
    startup heap again: a third of a second several times per cycle of 1,000 feeds. Called
    again after a reload, the previous generation of long-lived objects is collected first,
    so a replaced rule set is not kept forever.
    """
    gc.unfreeze()
    gc.collect()
    gc.freeze()
