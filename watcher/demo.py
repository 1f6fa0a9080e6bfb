"""`watcher demo`: the daemon's whole cycle without the internet.

Saved articles (seed text) are written as one RSS 2.0 feed with Media RSS captions and
`content:encoded` bodies, served by a real HTTP server on loopback, and polled once by the real
daemon into a throwaway SQLite store: fetched, parsed, normalized, stored, matched, clustered and
alerted on the console notifier, as a configured feed would be.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote

from watcher.article import Article

FEED_PATH = "/feed.xml"
FEED_NAME = "examples"
#: Where a seed caption's credit starts, as `watcher fetch` writes it (`description / credit`).
_CREDIT_SEPARATOR = " / "


def _slug(article: Article, number: int) -> str:
    words = "-".join(re.findall(r"\w+", article.title.lower())[:8])
    return f"{number}-{quote(words, safe='-')}"


def _xml_of_html(text: str) -> str:
    """Plain text as an element's content that is read as HTML (as watcher reads every text
    field of a feed): escaped for HTML, then for XML."""
    return html.escape(html.escape(text))


def _caption(article: Article) -> str:
    description, separator, credit = article.caption.rpartition(_CREDIT_SEPARATOR)
    if not separator:
        return f"<media:description>{_xml_of_html(article.caption)}</media:description>"
    return (
        f"<media:description>{_xml_of_html(description)}</media:description>"
        f"<media:credit>{_xml_of_html(credit)}</media:credit>"
    )


def _item(article: Article, number: int, site: str) -> str:
    link = f"{site}/articles/{_slug(article, number)}"
    body = "".join(
        f"<h2>{html.escape(block.text)}</h2>"
        if block.kind == "subheading"
        else f"<p>{html.escape(block.text)}</p>"
        for block in article.body
    )  # HTML, escaped for XML below
    # Noon UTC keeps the publisher's calendar day whatever the reader's zone.
    published = dt.datetime.combine(article.date, dt.time(12), dt.UTC)
    parts = [
        f"<title>{_xml_of_html(article.title)}</title>",
        f"<link>{link}</link>",
        f'<guid isPermaLink="true">{link}</guid>',
        f"<pubDate>{format_datetime(published, usegmt=True)}</pubDate>",
        f"<description>{_xml_of_html(article.summary)}</description>",
    ]
    if article.section:
        parts.append(f"<category>{_xml_of_html(article.section)}</category>")
    if article.source:
        parts.append(f'<source url="{site}{FEED_PATH}">{_xml_of_html(article.source)}</source>')
    if article.caption:
        parts.append(
            f'<media:content url="{site}/images/{number}.jpg" medium="image">'
            f"{_caption(article)}</media:content>"
        )
    if body:
        parts.append(f"<content:encoded>{html.escape(body)}</content:encoded>")
    return "<item>" + "".join(parts) + "</item>"


def article_feed(articles: Sequence[Article], site: str) -> bytes:
    """An RSS 2.0 document whose items read back as `articles` (the README's field mapping)."""
    items = "\n".join(_item(article, number, site) for number, article in enumerate(articles, 1))
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/" '
        'xmlns:media="http://search.yahoo.com/mrss/">\n'
        f"<channel><title>watcher demo</title><link>{site}/</link>"
        "<description>Saved articles served as a feed</description>\n"
        f"{items}\n</channel></rss>\n"
    ).encode()


@contextmanager
def serve_feed(build: Callable[[str], bytes]) -> Iterator[str]:
    """Serve the document `build` makes for the site's base URL at FEED_PATH, on a free
    loopback port; yields the base URL."""
    document = b""

    class FeedHandler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            found = self.path == FEED_PATH
            payload = document if found else b"not found\n"
            self.send_response(200 if found else 404)
            self.send_header(
                "Content-Type", "application/rss+xml; charset=utf-8" if found else "text/plain"
            )
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: object) -> None:
            """Requests are the daemon's to log."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), FeedHandler)
    site = f"http://127.0.0.1:{server.server_address[1]}"
    document = build(site)
    thread = threading.Thread(target=server.serve_forever, name="demo-feed", daemon=True)
    thread.start()
    try:
        yield site
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def demo_config(feed_url: str, store: Path, rules: Sequence[Path], alerts: int) -> str:
    """The embedded defaults (SQLite, console notifier) plus the one demo feed, as TOML.

    `first_poll_alerts` lets the feed's first and only poll alert on every article, where a
    new feed's first poll otherwise only marks its backlog seen.
    """
    # JSON strings are valid TOML basic strings.
    paths = ", ".join(json.dumps(str(path.resolve())) for path in rules)
    return (
        f"[store]\nurl = {json.dumps(f'sqlite:///{store}')}\n\n"
        f"[rules]\npaths = [{paths}]\n\n"
        f"[poll]\nfirst_poll_alerts = {alerts}\n\n"
        f"[[feeds]]\nname = {json.dumps(FEED_NAME)}\nurl = {json.dumps(feed_url)}\n"
        # Loopback is never reached through a proxy from the environment.
        'proxy = "direct"\n'
    )
