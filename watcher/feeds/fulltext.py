"""Full text of an article: fetch the page a feed entry links to and extract its main text.

For feeds configured with `full_text = true`. The link comes from the feed, i.e. from a
stranger, so the page is fetched through the fetcher's SSRF guard (`watcher.feeds.ssrf`):
only http(s), and every hop of the fetch may reach public addresses only, unless the feed's
config sets `allow_private`. Pages go the feed's way: through its own proxy, if it names one,
trusting its CA files. Network concurrency is bounded by the fetcher's global and
per-host limits; extraction (trafilatura, CPU-bound) runs in a small dedicated thread pool.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import trafilatura

from watcher.feeds.fetch import HTML_ACCEPT, Fetcher, redact_url
from watcher.feeds.headers import FeedHeaders
from watcher.feeds.route import Route

HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
#: Extraction threads. Not the loop's default executor: DNS lookups for every fetch run there
#: (research/reliability.md §1.5), and a burst of extractions must not stall them.
EXTRACTION_THREADS = 2
_extractors = ThreadPoolExecutor(max_workers=EXTRACTION_THREADS, thread_name_prefix="fulltext")


@dataclass(frozen=True, slots=True)
class FullTextError:
    """Why an article's full text could not be had; the entry keeps its feed text."""

    url: str
    reason: str

    def __str__(self) -> str:
        return f"{redact_url(self.url)}: {self.reason}"


def extract_paragraphs(page: bytes, url: str | None = None) -> list[str]:
    """The main text of an HTML page as paragraphs (subheadings included, in page order).

    trafilatura finds the main content (dropping navigation, footers and comments) and works
    out the page's encoding itself.
    """
    text = trafilatura.extract(page, url=url, include_comments=False, include_tables=False)
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def _extract_safely(page: bytes, url: str) -> list[str] | str:
    try:
        return extract_paragraphs(page, url)
    except Exception as error:  # hostile markup must cost one article, never the poll
        return f"text extraction failed ({type(error).__name__}: {error})"


async def fetch_full_text(
    fetcher: Fetcher,
    url: str,
    *,
    allow_private: bool = False,
    headers: FeedHeaders | None = None,
    route: Route | None = None,
) -> list[str] | FullTextError:
    """Fetch the article page at `url` and return its main text as paragraphs.

    Refuses non-http(s) URLs and, unless `allow_private`, any hop that would reach a loopback,
    private, link-local, multicast, reserved or cloud-metadata address. Never raises for a
    network, HTTP or extraction problem: those come back as a `FullTextError`. `headers` and
    `route`: the feed's own request headers, proxy and CA files (see `Fetcher.fetch` for what
    the guard can check through a proxy).
    """
    result = await fetcher.fetch(
        url, public_only=not allow_private, accept=HTML_ACCEPT, headers=headers, route=route
    )
    if result.error or result.body is None:
        return FullTextError(url, result.error or f"no page body ({result.outcome})")
    media_type = result.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type and media_type not in HTML_TYPES:
        return FullTextError(url, f"not an HTML page ({media_type})")
    loop = asyncio.get_running_loop()
    extracted = await loop.run_in_executor(
        _extractors, _extract_safely, result.body, result.final_url
    )
    if isinstance(extracted, str):
        return FullTextError(url, extracted)
    if not extracted:
        return FullTextError(url, "no article text found on the page")
    return extracted
