"""parse_feed leaves out the entries the store has seen, when their guids alone give their keys,
and everything else comes out exactly as a full parse gives it."""

from __future__ import annotations

import datetime as dt
import os
import pathlib

import pytest

from watcher.feeds.parse import FeedContext, FeedParseError, ParsedFeed, parse_feed

FETCHED_AT = dt.datetime(2026, 8, 14, 12, 0, tzinfo=dt.UTC)
LOCAL = pathlib.Path(__file__).parent / "feeds"
CORPUS = os.environ.get("WATCHER_TEST_CORPUS")


def feed_files() -> list[object]:
    local = sorted(p for p in LOCAL.iterdir() if p.suffix != ".html")
    if not CORPUS:
        return [*local, pytest.param(None, marks=pytest.mark.skip(reason="no corpus"))]
    root = pathlib.Path(CORPUS) / "feeds"
    real = sorted(
        p
        for folder in ("news", "other-realworld", "feedparser-tests")
        for p in (root / folder).rglob("*")
        if p.is_file()
    )
    return [*local, *real]


def parse(body: bytes, listed_before: frozenset[str] = frozenset(), **context: str) -> ParsedFeed:
    feed = FeedContext(name="wire", url="https://news.example/feed", **context)
    return parse_feed(body, {}, feed=feed, fetched_at=FETCHED_AT, listed_before=listed_before)


@pytest.mark.parametrize("path", feed_files(), ids=lambda p: p.name if p else "corpus")
def test_seen_entries_are_left_out_and_the_rest_is_unchanged(path: pathlib.Path) -> None:
    body = path.read_bytes()
    try:
        full = parse(body)
    except FeedParseError:
        return
    keys = [entry.key for entry in full.entries]
    listed_before = frozenset(keys[::2]) | {"guid:not-in-this-feed"}
    partial = parse(body, listed_before)
    seen = set(partial.seen_keys)
    assert seen <= listed_before
    assert partial.seen_keys == [key for key in keys if key in seen]
    assert partial.entries == [entry for entry in full.entries if entry.key not in seen]
    if any(key.startswith("guid:") for key in keys[::2]):
        assert partial.seen_keys, "no seen entry was left out"
    assert set(partial.problems) <= set(full.problems)


def rss(*items: tuple[str, str]) -> bytes:
    entries = "".join(
        f"<item><title>{title}</title><guid>{guid}</guid><link>{guid}</link>"
        "<description>Text</description></item>"
        for guid, title in items
    )
    return f'<rss version="2.0"><channel><title>Wire</title>{entries}</channel></rss>'.encode()


def test_entries_sharing_a_guid_are_always_normalized() -> None:
    body = rss(
        ("https://news.example/a#1", "First revision"),
        ("https://news.example/a#2", "Second revision"),
        ("https://news.example/b", "Other story"),
    )
    full = parse(body)
    keys = [entry.key for entry in full.entries]
    assert keys == [
        "guid:https://news.example/a#1",
        "guid:https://news.example/a#2",
        "guid:https://news.example/b",
    ]
    partial = parse(body, frozenset(keys))
    assert partial.seen_keys == ["guid:https://news.example/b"]
    assert partial.entries == full.entries[:2]


def test_feeds_identified_by_link_or_text_normalize_every_entry() -> None:
    body = rss(("https://news.example/a", "One"), ("https://news.example/b", "Two"))
    for identity in ("link", "text"):
        full = parse(body, identity=identity)
        partial = parse(body, frozenset(e.key for e in full.entries), identity=identity)
        assert partial.seen_keys == []
        assert partial.entries == full.entries
