"""Feeds served by a real loopback HTTP server, whose items a test can change while it runs.

A feed path serves its current items on every request, so publishing an item while the daemon
runs makes it appear in the next poll:

    site = FeedSite().start()
    site.feed("/world", title="Example Wire")
    site.publish("/world", Item("a1", "Army adds drones to border patrols", "Soldiers …"))
    url = site.url("/world")
    site.polls("/world")  # how many times the daemon fetched it
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.utils import format_datetime
from xml.sax.saxutils import escape

from tests.support.httpserver import LoopbackServer, Reply, SeenRequest

RSS_TYPE = {"Content-Type": "application/rss+xml; charset=utf-8"}


@dataclass(frozen=True)
class Item:
    guid: str | None  # None: the item has no <guid>
    title: str
    summary: str
    link: str | None = None
    published: dt.datetime = field(
        default_factory=lambda: dt.datetime.now(dt.UTC).replace(microsecond=0)
    )

    @property
    def url(self) -> str:
        return self.link or f"https://news.example/{self.guid}"


def rss(title: str, items: list[Item]) -> bytes:
    """An RSS 2.0 document, newest item first."""
    entries = "".join(
        "<item>"
        f"<title>{escape(item.title)}</title>"
        f"<link>{escape(item.url)}</link>"
        + (f'<guid isPermaLink="false">{escape(item.guid)}</guid>' if item.guid else "")
        + f"<description>{escape(item.summary)}</description>"
        f"<pubDate>{format_datetime(item.published)}</pubDate>"
        "</item>"
        for item in sorted(items, key=lambda i: i.published, reverse=True)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
        f"<title>{escape(title)}</title><link>https://news.example/</link>"
        f"<description>{escape(title)} test feed</description>{entries}</channel></rss>"
    ).encode()


class FeedSite:
    """A LoopbackServer whose feed paths serve their current items on every request."""

    def __init__(self) -> None:
        self.server = LoopbackServer()
        self._feeds: dict[str, tuple[str, list[Item]]] = {}
        self._served: Counter[str] = Counter()
        self._served_at: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def start(self) -> FeedSite:
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop()

    def __enter__(self) -> FeedSite:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def url(self, path: str) -> str:
        return self.server.url(path)

    def feed(self, path: str, title: str, items: list[Item] | None = None) -> str:
        """Serve an RSS feed at `path`; returns its URL."""
        with self._lock:
            self._feeds[path] = (title, list(items or []))
        self.server.route(path, self._serve)
        return self.url(path)

    def publish(self, path: str, *items: Item) -> None:
        with self._lock:
            title, current = self._feeds[path]
            self._feeds[path] = (title, [*current, *items])

    def route(self, path: str, reply: Reply) -> str:
        """Serve a fixed reply (a hang, garbage, a slow drip) at `path`; returns its URL."""
        self.server.route(path, reply)
        return self.url(path)

    def polls(self, path: str) -> int:
        """How many times `path` was fetched. For a feed, a fetch counts once its body is
        made: an item published after `polls()` went up is not in that fetch's body."""
        with self._lock:
            if path in self._feeds:
                return self._served[path]
        return len(self.server.requests_to(path))

    def poll_times(self, path: str) -> list[float]:
        """When each fetch of the feed at `path` was served (`time.monotonic()`)."""
        with self._lock:
            return list(self._served_at.get(path, []))

    def _serve(self, request: SeenRequest) -> Reply:
        with self._lock:
            title, items = self._feeds[request.path]
            body = rss(title, items)
            self._served[request.path] += 1
            self._served_at.setdefault(request.path, []).append(time.monotonic())
        return Reply(headers=RSS_TYPE, body=body)


def endless_drip(head: bytes) -> Iterator[bytes]:
    """A body that starts like a feed and never ends (serve it byte by byte with `Reply.drip`)."""
    yield head
    while True:
        yield b" " * 64
