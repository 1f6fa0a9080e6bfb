"""One feed, read: fetch (conditional), parse in a worker, and optionally fetch full texts.

Shared by `watcher fetch` (no store) and the poller (with the validators the store kept).
Never raises for a problem with the feed: the result carries a one-line error instead.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from watcher.article import Block
from watcher.feeds.fetch import Fetcher, FetchResult
from watcher.feeds.fulltext import FullTextError, fetch_full_text
from watcher.feeds.headers import FeedHeaders
from watcher.feeds.identity import SeenKeys
from watcher.feeds.parse import FeedContext, FeedParseError, ParsedEntry, ParsedFeed
from watcher.feeds.route import Route
from watcher.feeds.worker import ParserPool
from watcher.seedtext import classify_block

FULL_TEXT_CONCURRENCY = 4


@dataclass(slots=True)
class FeedRead:
    fetch: FetchResult
    parsed: ParsedFeed | None = None
    error: str | None = None
    full_text_problems: list[str] | None = None
    # The keys `listed_before` gave, when a body was parsed.
    listed_before: SeenKeys = frozenset()

    @property
    def ok(self) -> bool:
        return self.error is None


async def read_feed(
    fetcher: Fetcher,
    parser: ParserPool,
    feed: FeedContext,
    *,
    now: dt.datetime,
    etag: str | None = None,
    last_modified: str | None = None,
    previous_body_hash: str | None = None,
    full_text: bool = False,
    allow_private: bool = False,
    match: bool = True,
    listed_before: Callable[[], Awaitable[SeenKeys]] | None = None,
    headers: FeedHeaders | None = None,
    route: Route | None = None,
) -> FeedRead:
    """Fetch and parse one feed. `listed_before`, asked only when there is a body to parse:
    the keys of entries the store has seen, which the parser then leaves alone as far as it
    can (`ParserPool.parse`) and whose full texts are not fetched. `headers`: the feed's own
    request headers, and `route`: its proxy and CA files, for the feed and its article pages."""
    result = await fetcher.fetch(
        feed.url,
        etag=etag,
        last_modified=last_modified,
        previous_body_hash=previous_body_hash,
        headers=headers,
        route=route,
    )
    if result.error is not None:
        return FeedRead(result, error=result.error)
    if result.body is None:  # 304, or the same bytes as last time
        return FeedRead(result)
    response_headers = dict(result.headers)
    # The parser resolves relative links against the URL the body really came from.
    response_headers["content-location"] = result.final_url
    seen = await listed_before() if listed_before else frozenset()
    try:
        parsed = await parser.parse(
            result.body, response_headers, feed, now, match=match, listed_before=seen
        )
    except FeedParseError as error:
        return FeedRead(result, error=str(error))
    read = FeedRead(result, parsed, listed_before=seen)
    if full_text:
        # Seen entries keep the body they were stored with: no page fetch for them.
        unseen = [entry for entry in parsed.entries if entry.key not in seen]
        read.full_text_problems = await _add_full_texts(
            fetcher, unseen, allow_private, headers, route
        )
    return read


async def _add_full_texts(
    fetcher: Fetcher,
    entries: list[ParsedEntry],
    allow_private: bool,
    headers: FeedHeaders | None,
    route: Route | None,
) -> list[str]:
    """Replace each entry's body with its page's main text; keep the feed's body on failure."""
    slots = asyncio.Semaphore(FULL_TEXT_CONCURRENCY)
    problems: list[str] = []

    async def one(entry: ParsedEntry) -> None:
        url = entry.article.url
        if not url:
            return
        async with slots:
            paragraphs = await fetch_full_text(
                fetcher, url, allow_private=allow_private, headers=headers, route=route
            )
        if isinstance(paragraphs, FullTextError):
            problems.append(f"{url}: full text: {paragraphs.reason}")
            return
        blocks = [Block(kind=classify_block(p), text=p) for p in paragraphs if p.strip()]
        if blocks:
            entry.article.body = blocks

    await asyncio.gather(*(one(entry) for entry in entries))
    return problems
