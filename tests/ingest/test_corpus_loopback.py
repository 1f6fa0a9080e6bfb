"""Every real-world feed of the corpus, served from loopback, goes through fetch → parse (in the
worker pool) → normalize → seed text → rules without an unhandled error (issue 3 §6)."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
from pathlib import Path

import pytest

from tests.support.httpserver import LoopbackServer, Reply
from watcher.feeds.fetch import Fetcher
from watcher.feeds.parse import FeedContext
from watcher.feeds.read import read_feed
from watcher.feeds.worker import ParserPool
from watcher.matching import load_ruleset, match_article
from watcher.seedtext import parse, render

ROOT = Path(__file__).resolve().parents[2]
CORPUS = os.environ.get("WATCHER_TEST_CORPUS")
pytestmark = pytest.mark.skipif(not CORPUS, reason="WATCHER_TEST_CORPUS is not set")


def corpus_files() -> list[Path]:
    if not CORPUS:
        return []
    feeds = Path(CORPUS) / "feeds"
    return sorted(
        p
        for folder in ("news", "other-realworld")
        for p in (feeds / folder).rglob("*")
        if p.is_file()
    )


def content_type(path: Path) -> str:
    return "application/feed+json" if path.suffix == ".json" else "application/xml"


def test_corpus_through_the_whole_ingest_path() -> None:
    files = corpus_files()
    assert len(files) >= 40
    ruleset = load_ruleset([ROOT / "rules"]).ruleset
    with LoopbackServer() as server:
        for index, path in enumerate(files):
            body = path.read_bytes()
            server.route(
                f"/{index}", Reply(headers={"Content-Type": content_type(path)}, body=body)
            )

        async def read_all():
            async with Fetcher() as fetcher, ParserPool(max_workers=2) as parser:
                now = dt.datetime.now(dt.UTC)
                return await asyncio.gather(
                    *(
                        read_feed(
                            fetcher,
                            parser,
                            FeedContext(name=p.name, url=server.url(f"/{i}")),
                            now=now,
                        )
                        for i, p in enumerate(files)
                    )
                )

        reads = asyncio.run(read_all())
    news_read = 0
    for path, read in zip(files, reads, strict=True):
        if read.error is not None:
            # A clear one-line reason that names the feed, never a traceback.
            assert "\n" not in read.error and path.name in read.error, (path, read.error)
            continue
        assert read.parsed is not None
        news_read += path.parent.name == "news"
        for entry in read.parsed.entries:
            article = entry.article
            if article.title:
                again = parse(render(article))
                assert again.title == article.title and again.body == [
                    b.model_copy(update={"kind": again.body[i].kind})
                    for i, b in enumerate(article.body)
                ]
            match_article(ruleset, article)
    assert news_read == 33
