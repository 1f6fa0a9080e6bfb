"""`content:encoded` read by our own pass and cut out of what feedparser reads.

The body must come out exactly as when feedparser reads the element itself, whatever the item
holds around it; forms the pass does not take (markup inside, attributes, another namespace
behind the `content` prefix) are left to feedparser. "As feedparser reads it" is measured by
parsing the same document with the pass switched off.
"""

from __future__ import annotations

import itertools

import pytest

import watcher.feeds.parse as parse_module
from tests.parse.conftest import Parse
from watcher.feeds.extensions import read_extensions

CONTENT = "http://purl.org/rss/1.0/modules/content/"
NAMESPACES = (
    f'xmlns:content="{CONTENT}" xmlns:media="http://search.yahoo.com/mrss/" '
    'xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd"'
)
BODY = "<p>The ferry resumed its crossings at dawn.</p><h3>Timetable</h3><p>Twice a day.</p>"
PARTS = {
    "title": "<title>Ferry back in service</title>",
    "description": "<description>Crossings resume after the storm.</description>",
    "cdata": f"<content:encoded><![CDATA[{BODY}]]></content:encoded>",
    "escaped": (
        "<content:encoded>&lt;p&gt;Harbour &amp;amp; quay reopened.&lt;/p&gt;</content:encoded>"
    ),
    "itunes": "<itunes:summary>A summary for podcast apps.</itunes:summary>",
    "media": (
        '<media:content url="https://img.example.org/ferry.jpg">'
        "<media:description>The ferry leaves the harbour.</media:description>"
        "<media:credit>Port authority</media:credit></media:content>"
    ),
}


def _rss(items: list[str], namespaces: str = NAMESPACES) -> bytes:
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0" {namespaces}><channel>'
        f"<title>Harbour news</title>{''.join(items)}</channel></rss>"
    ).encode()


def _item(*parts: str, guid: str = "ferry-1") -> str:
    return f'<item><guid isPermaLink="false">{guid}</guid>{"".join(parts)}</item>'


@pytest.fixture
def by_feedparser_alone(monkeypatch: pytest.MonkeyPatch, parse: Parse) -> Parse:
    """parse_feed with the pass never cutting a `content:encoded` (feedparser reads it)."""

    def run(body: bytes) -> object:
        with monkeypatch.context() as patch:
            patch.setattr(parse_module, "uses_content_module", lambda document: False)
            patch.setattr(parse_module, "uses_media_rss", lambda document: False)
            alone = parse(body)
        # Captions need the pass: compare them with what the full parse found.
        return alone

    return run


def _texts(feed: object) -> list[tuple[str, str, list[tuple[str, str]]]]:
    return [
        (e.article.title, e.article.summary, [(b.kind, b.text) for b in e.article.body])
        for e in feed.entries  # type: ignore[attr-defined]
    ]


ORDERS = [
    list(order)
    for size in (1, 2, 3)
    for order in itertools.permutations(["description", "cdata", "itunes"], size)
    if "cdata" in order
]


@pytest.mark.parametrize("order", ORDERS, ids="+".join)
def test_body_is_the_content_encoded_and_summary_as_feedparser_reads_it_in_any_order(
    parse: Parse, by_feedparser_alone: Parse, order: list[str]
) -> None:
    body = _rss([_item(PARTS["title"], *(PARTS[name] for name in order))])
    assert read_extensions(body).bodies  # the pass did take it
    ours = parse(body).entries[0].article
    alone = by_feedparser_alone(body).entries[0].article
    assert ours.summary == alone.summary
    assert [b.text for b in ours.body] == [
        "The ferry resumed its crossings at dawn.",
        "Timetable",
        "Twice a day.",
    ]
    if order != ["itunes", "description", "cdata"] and order != ["description", "itunes", "cdata"]:
        assert ours.body == alone.body
    else:
        # Two summary-like elements before the body: feedparser files the second one as
        # content, and alone it would take that for the body.
        assert alone.body != ours.body


def test_a_description_that_says_what_the_body_says_is_still_the_summary(parse: Parse) -> None:
    # Short news items often repeat one text in both (HuffPost). feedparser copies the body
    # into the summary when there is no description, and the pass shows which case it is:
    # feedparser read a placeholder where the body was.
    text = "<p>Crossings resume after the storm.</p>"
    body = _rss(
        [
            _item(
                PARTS["title"],
                f"<description><![CDATA[{text}]]></description>",
                f"<content:encoded><![CDATA[{text}]]></content:encoded>",
            ),
            _item(
                PARTS["title"], f"<content:encoded><![CDATA[{text}]]></content:encoded>", guid="b"
            ),
        ],
        # Without Media RSS, whose pass would say what the description held.
        namespaces=f'xmlns:content="{CONTENT}"',
    )
    described, undescribed = (entry.article for entry in parse(body).entries)
    assert described.summary == "Crossings resume after the storm."
    assert [b.text for b in described.body] == ["Crossings resume after the storm."]
    assert undescribed.summary == ""
    assert [b.text for b in undescribed.body] == ["Crossings resume after the storm."]


@pytest.mark.parametrize(
    "encoded",
    [
        PARTS["escaped"],
        # Two of them: the first is the body.
        PARTS["cdata"] + "<content:encoded><![CDATA[<p>Second copy.</p>]]></content:encoded>",
        # Whitespace around, and text that is the mojibake of UTF-8 read as Latin-1.
        "<content:encoded>\n  <![CDATA[<p>Kaş harbour</p>]]>\n</content:encoded>",
        "<content:encoded><![CDATA[<p>KaÅ\u009f harbour</p>]]></content:encoded>",
        # A C1 control, which feedparser reads as Windows-1252 (U+0093 → “).
        "<content:encoded><![CDATA[<p>\u0093Open\u0094 again</p>]]></content:encoded>",
        # Empty: no body, the description stands in.
        "<content:encoded><![CDATA[   ]]></content:encoded>",
    ],
    ids=["escaped", "two", "whitespace", "mojibake", "c1-controls", "empty"],
)
def test_texts_read_by_the_pass_match_feedparser(
    parse: Parse, by_feedparser_alone: Parse, encoded: str
) -> None:
    body = _rss([_item(PARTS["title"], PARTS["description"], encoded)])
    assert _texts(parse(body)) == _texts(by_feedparser_alone(body))


@pytest.mark.parametrize(
    ("namespaces", "encoded"),
    [
        # Markup inside the element instead of escaped text: feedparser rebuilds it.
        (NAMESPACES, f"<content:encoded>{BODY}</content:encoded>"),
        # An attribute (feedparser reads `type`).
        (NAMESPACES, f'<content:encoded type="text/plain"><![CDATA[{BODY}]]></content:encoded>'),
        # The `content` prefix bound to something else than the content module.
        (
            f'xmlns:content="http://example.org/content" {NAMESPACES.split(" ", 1)[1]}',
            f"<content:encoded><![CDATA[{BODY}]]></content:encoded>",
        ),
    ],
    ids=["child-elements", "attribute", "other-namespace"],
)
def test_forms_the_pass_does_not_take_are_left_to_feedparser(
    parse: Parse, by_feedparser_alone: Parse, namespaces: str, encoded: str
) -> None:
    body = _rss([_item(PARTS["title"], PARTS["description"], encoded)], namespaces)
    assert read_extensions(body).bodies == ()
    assert _texts(parse(body)) == _texts(by_feedparser_alone(body))


def test_body_beside_media_rss_keeps_the_caption_apart(parse: Parse) -> None:
    body = _rss([_item(PARTS["title"], PARTS["media"], PARTS["description"], PARTS["cdata"])])
    article = parse(body).entries[0].article
    assert article.caption == "The ferry leaves the harbour. / Port authority"
    assert article.summary == "Crossings resume after the storm."
    assert [b.text for b in article.body] == [
        "The ferry resumed its crossings at dawn.",
        "Timetable",
        "Twice a day.",
    ]


def test_bodies_need_no_pairing_of_items(parse: Parse) -> None:
    # The pass counts an `<x:item>` of another vocabulary as an item, feedparser does not;
    # and the two real items share guid and title: neither identity nor position could pair
    # them. Each body still lands in its own entry.
    second = "<content:encoded><![CDATA[<p>The second crossing.</p>]]></content:encoded>"
    body = _rss(
        [
            _item(PARTS["title"], PARTS["cdata"], guid="same"),
            "<x:item>a listing of another vocabulary</x:item>",
            _item(PARTS["title"], second, guid="same"),
        ],
        f'xmlns:x="http://example.org/listings" {NAMESPACES}',
    )
    assert len(read_extensions(body).items) == 3
    assert [e.article.body[0].text for e in parse(body).entries] == [
        "The ferry resumed its crossings at dawn.",
        "The second crossing.",
    ]


def test_body_when_feedparser_falls_back_to_its_lenient_parser(
    parse: Parse, by_feedparser_alone: Parse
) -> None:
    # An undeclared prefix is well-formed XML without namespaces (our pass reads it) but not
    # with them: feedparser's strict parser gives up and its lenient one reads the placeholder.
    item = _item(PARTS["title"], PARTS["description"], PARTS["cdata"], "<dc2:note>x</dc2:note>")
    body = _rss([item])
    assert read_extensions(body).bodies
    feed = parse(body)
    assert any("lenient parser" in problem for problem in feed.problems)
    assert _texts(feed) == _texts(by_feedparser_alone(body))
    assert feed.entries[0].article.body[0].text == "The ferry resumed its crossings at dawn."
