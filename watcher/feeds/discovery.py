"""The feeds a web page names: `<link rel="alternate" type="application/rss+xml" href="…">`.

When a configured URL answers with a web page instead of a feed (a site's home page, or a feed
URL that now serves the site after a redesign), the error can say which feed URLs the page
itself advertises, so the user can put the right one in the config. Nothing is followed
automatically: a monitoring daemon should read what it was told to read.

Pure: the page's bytes in, absolute http(s) URLs out. The page comes from a stranger, so only
its head is read (up to `HEAD_BYTES`), at most `MAX_LINKS` URLs come back, each of bounded
length and printable.
"""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

#: The link types of feeds. (A page's `application/json` alternate is usually a site's API,
#: e.g. WordPress's wp-json, not a JSON Feed.)
FEED_TYPES = frozenset(
    {
        "application/rss+xml",
        "application/atom+xml",
        "application/rdf+xml",
        "application/feed+json",
    }
)
HEAD_BYTES = 256 * 1024
MAX_LINKS = 3
MAX_URL_LENGTH = 300


class _HeadEnds(Exception):
    pass


class _FeedLinks(HTMLParser):
    def __init__(self, base_url: str) -> None:
        super().__init__(convert_charrefs=True)
        self.base_url = base_url
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: (value or "").strip() for name, value in attrs}
        if tag == "base" and values.get("href"):
            self.base_url = urljoin(self.base_url, values["href"])
        elif tag == "link":
            rels = values.get("rel", "").lower().split()
            media_type = values.get("type", "").split(";", 1)[0].strip().lower()
            if "alternate" in rels and media_type in FEED_TYPES and values.get("href"):
                self.links.append(urljoin(self.base_url, values["href"]))
        elif tag == "body":
            raise _HeadEnds  # feeds are announced in the head


def feed_links(page: bytes, base_url: str) -> list[str]:
    """The distinct feed URLs the page's head links to, absolute, in page order."""
    parser = _FeedLinks(base_url)
    try:
        parser.feed(page[:HEAD_BYTES].decode("utf-8", "replace"))
    except _HeadEnds:
        pass
    except (AssertionError, ValueError):  # the stdlib parser can choke on hostile markup
        pass
    found: list[str] = []
    for url in parser.links:
        if (
            urlsplit(url).scheme in ("http", "https")
            and len(url) <= MAX_URL_LENGTH
            and url.isprintable()
            and " " not in url
            and url not in found
        ):
            found.append(url)
    return found[:MAX_LINKS]
