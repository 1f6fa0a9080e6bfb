"""parse_feed leaves out the entries the store has seen, when their guids alone give their keys,
and everything else comes out exactly as a full parse gives it."""

from __future__ import annotations

import datetime as dt
import os
import pathlib
import pickle

import pytest

from watcher.feeds.extensions import read_extensions
from watcher.feeds.identity import EVERY_KEY, SeenKeys, keys_by_guid_alone
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


def parse(body: bytes, listed_before: SeenKeys = frozenset(), **context: str) -> ParsedFeed:
    feed = FeedContext(name="wire", url="https://news.example/feed", **context)
    return parse_feed(body, {}, feed=feed, fetched_at=FETCHED_AT, listed_before=listed_before)


def fully_parsed(path: pathlib.Path) -> tuple[bytes, ParsedFeed] | None:
    """The file's bytes and their full parse; None when it is no feed (nothing to compare)."""
    body = path.read_bytes()
    try:
        return body, parse(body)
    except FeedParseError:
        return None


@pytest.mark.parametrize("path", feed_files(), ids=lambda p: p.name if p else "corpus")
def test_seen_entries_are_left_out_and_the_rest_is_unchanged(path: pathlib.Path) -> None:
    if (read := fully_parsed(path)) is None:
        return
    body, full = read
    keys = [entry.key for entry in full.entries]
    listed_before = frozenset(keys[::2]) | {"guid:not-in-this-feed"}
    partial = parse(body, listed_before)
    seen = set(partial.seen_keys)
    assert seen <= listed_before
    assert sorted(partial.seen_keys) == sorted(key for key in keys if key in seen)
    assert partial.entries == [entry for entry in full.entries if entry.key not in seen]
    if any(key.startswith("guid:") for key in keys[::2]):
        assert partial.seen_keys, "no seen entry was left out"
    assert set(partial.problems) <= set(full.problems)


@pytest.mark.parametrize("path", feed_files(), ids=lambda p: p.name if p else "corpus")
def test_on_a_first_poll_every_entry_a_guid_alone_names_is_left_out(path: pathlib.Path) -> None:
    if (read := fully_parsed(path)) is None:
        return
    body, full = read
    first = parse(body, EVERY_KEY)
    seen = set(first.seen_keys)
    assert all(key.startswith("guid:") for key in seen)
    assert first.entries == [entry for entry in full.entries if entry.key not in seen]
    # Entries the full parse skips (no title, no text) may come back as keys: marked seen.
    assert len(full.entries) - len(first.entries) <= len(seen) == len(first.seen_keys)
    guid_alone = keys_by_guid_alone([entry.article.guid for entry in full.entries])
    if any(key is not None for key in guid_alone):
        assert seen, "no entry was left out"
    assert set(first.problems) <= set(full.problems)


def test_every_key_is_one_object_in_every_process() -> None:
    assert "guid:anything" in EVERY_KEY and EVERY_KEY
    assert pickle.loads(pickle.dumps(EVERY_KEY)) is EVERY_KEY


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


def media_rss(*items: str, base: str = "") -> bytes:
    return (
        '<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/" '
        f'xmlns:atom="http://www.w3.org/2005/Atom"{base}><channel><title>Wire</title>'
        + "".join(items)
        + "</channel></rss>"
    ).encode()


def item(guid: str, title: str, *, date: str = "Tue, 20 May 2025 06:00:00 GMT") -> str:
    return (
        f"<item><title>{title}</title>{guid}<link>https://news.example/{title}</link>"
        f"<pubDate>{date}</pubDate>"
        f"<description>About {title}.</description>"
        f"<content:encoded><![CDATA[<p>All about {title}.</p>]]></content:encoded>"
        f'<media:content url="https://img.example/{title}.jpg"><media:description>'
        f"Picture of {title}</media:description><media:credit>Desk</media:credit>"
        "</media:content></item>"
    )


def test_seen_items_are_cut_out_before_feedparser_reads_the_document() -> None:
    body = media_rss(
        item("<guid>a</guid>", "alpha"),
        item('<guid isPermaLink="false">b</guid>', "beta", date="someday"),
        item("<guid> c </guid>", "gamma"),
    )
    cut = read_extensions(body, frozenset({"guid:a", "guid:c"}))
    assert cut.seen_keys == ("guid:a", "guid:c")
    assert cut.numbers == (2,)
    assert [media.guid for media in cut.items] == ["b"]
    assert cut.stripped is not None
    assert b"alpha" not in cut.stripped and b"gamma" not in cut.stripped
    assert b"beta" in cut.stripped
    full = parse(body)
    partial = parse(body, frozenset({"guid:a", "guid:c"}))
    assert partial.seen_keys == ["guid:a", "guid:c"]
    assert partial.entries == full.entries[1:2]
    # The entry keeps its own position in problem messages.
    assert (
        partial.problems
        == full.problems
        == ["entry 2: date 'someday' not understood; using the fetch time"]
    )


@pytest.mark.parametrize(
    ("guids", "base"),
    [
        (["<atom:id>a</atom:id>", "<atom:id>b</atom:id>"], ""),  # a prefixed id
        (["<guid>a<b>!</b></guid>", "<guid>b<b>!</b></guid>"], ""),  # markup inside
        (["<guid>a</guid><guid>x</guid>", "<guid>b</guid><guid>y</guid>"], ""),  # two guids
        (["<guid>é-a</guid>", "<guid>é-b</guid>"], ""),  # not ASCII
        (["<guid>a</guid>", "<guid>b</guid>"], ' xml:base="https://news.example/"'),
    ],
)
def test_items_feedparser_might_read_otherwise_are_left_to_it(guids: list[str], base: str) -> None:
    body = media_rss(*(item(guid, f"story{n}") for n, guid in enumerate(guids)), base=base)
    full = parse(body)
    listed = frozenset(entry.key for entry in full.entries)
    assert read_extensions(body, listed).seen_keys == ()
    partial = parse(body, listed)
    assert partial.entries == [e for e in full.entries if e.key not in partial.seen_keys]
