"""Hand-written feeds through parse_feed: every format, every Article field, bad entries."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from tests.parse.conftest import FETCHED_AT, Parse
from watcher.article import Block
from watcher.feeds.parse import FeedParseError


def rss(items: str, channel: str = "<title>Test channel</title>", extra_ns: str = "") -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/" '
        'xmlns:media="http://search.yahoo.com/mrss/" '
        f'xmlns:dc="http://purl.org/dc/elements/1.1/" {extra_ns}>'
        f"<channel>{channel}{items}</channel></rss>"
    ).encode()


# --- A rich RSS 2.0 item: every field of the seed article filled -----------------------------


def test_rich_rss_item_fills_every_article_field(parse: Parse, feed_bytes) -> None:
    parsed = parse(feed_bytes("rich.xml"), section="World")
    assert (parsed.format, parsed.title, parsed.language, parsed.ttl) == (
        "rss20",
        "Harbour Gazette",
        "en-gb",
        20,
    )
    entry = parsed.entries[0]
    article = entry.article
    assert article.date == dt.date(2025, 5, 19)
    assert article.section == "REGIONAL AFFAIRS"
    assert article.title == "Valley towns agree shared water plan after months of talks"
    assert article.summary == (
        "Four valley towns signed a joint plan on Monday to share the river\u2019s summer flow."
    )
    assert article.caption == (
        "Engineers inspect the upper dam outside Lindholm on Sunday. / Photo: Jonas Ek"
    )
    assert article.age == "18 hours ago"
    assert article.source == "Mira Voss"
    assert article.body[:3] == [
        Block(text="The mayors of the four towns met in Lindholm town hall for the last round "
                   "of a negotiation that began in January."),
        Block(text="Under the plan, each town may draw a fixed share of the flow between June "
                   "and September, and a joint board will publish the readings every week."),
        Block(kind="subheading", text="What changes for farmers"),
    ]  # fmt: skip
    assert Block(kind="subheading", text="Next steps") in article.body
    assert Block(text="An appeal to the joint board within ten days.") in article.body
    body_text = " ".join(block.text for block in article.body)
    assert "trackReader" not in body_text and "Engineers at the dam" not in body_text
    assert "Watch the signing" not in body_text
    assert article.url == "https://News.Example.org/2025/05/water-plan?utm_source=rss&id=7#top"
    assert article.guid == "hg-2025-0519-water"
    assert article.feed == "test-feed"
    assert article.language == "en-gb"
    assert article.fetched_at == FETCHED_AT
    assert article.published_at == dt.datetime(2025, 5, 19, 11, 30, tzinfo=dt.UTC)
    assert entry.key == "guid:hg-2025-0519-water"
    assert (entry.raw_date, entry.date_fallback) == ("Mon, 19 May 2025 14:30:00 +0300", False)
    assert parsed.problems == []


def test_plain_description_relative_link_and_rss_author(parse: Parse, feed_bytes) -> None:
    article = parse(feed_bytes("rich.xml"), section="Local").entries[1].article
    assert article.section == "LOCAL"
    assert article.url == "https://feeds.example.org/2025/05/ferry-timetable"
    assert article.source == "Harbour Desk"
    assert article.summary == "Extra evening sailings start on 1 June."
    assert article.caption == ""
    assert [block.text for block in article.body] == [
        "Extra evening sailings start on 1 June.",
        "Tickets bought before then remain valid.",
    ]


# --- Media RSS: captions in every element order ----------------------------------------------

CAPTION = "Crews clear the mountain pass road after the storm."
CREDIT = "Alex Moreno / Agency"
STANDFIRST = "The pass reopened to traffic on Tuesday morning."
BODY = "Snow ploughs worked through the night to clear two metres of snow."
ITEM_PARTS = {
    "title": "<title>Mountain pass reopens</title>",
    "description": f"<description>{STANDFIRST}</description>",
    "content": f"<content:encoded><![CDATA[<p>{BODY}</p>]]></content:encoded>",
    "media": (
        '<media:content url="https://img.example.org/pass.jpg" medium="image">'
        "<media:title>Pass road</media:title>"
        f"<media:description>{CAPTION}</media:description>"
        f"<media:credit>{CREDIT}</media:credit></media:content>"
    ),
}


@pytest.mark.parametrize("order", list(itertools.permutations(ITEM_PARTS)))
def test_caption_never_misfiled_whatever_the_element_order(parse: Parse, order) -> None:
    item = "<item><guid>pass-1</guid>" + "".join(ITEM_PARTS[part] for part in order) + "</item>"
    article = parse(rss(item)).entries[0].article
    assert article.title == "Mountain pass reopens"
    assert article.caption == f"{CAPTION} / {CREDIT}"
    assert article.summary == STANDFIRST
    assert [block.text for block in article.body] == [BODY]


@pytest.mark.parametrize("order", list(itertools.permutations(["description", "media"])))
def test_caption_kept_out_of_body_without_content_encoded(parse: Parse, order) -> None:
    item = "<item>" + ITEM_PARTS["title"] + "".join(ITEM_PARTS[p] for p in order) + "</item>"
    article = parse(rss(item)).entries[0].article
    assert article.summary == STANDFIRST
    assert [block.text for block in article.body] == [STANDFIRST]
    assert article.caption == f"{CAPTION} / {CREDIT}"


def test_caption_only_item_has_no_summary_or_body(parse: Parse) -> None:
    item = "<item>" + ITEM_PARTS["title"] + ITEM_PARTS["media"] + "</item>"
    article = parse(rss(item)).entries[0].article
    assert (article.summary, article.body, article.caption) == ("", [], f"{CAPTION} / {CREDIT}")


def test_media_group_caption_with_group_level_description_and_credit(parse: Parse) -> None:
    item = (
        "<item><title>Harbour festival</title><description>Boats on parade.</description>"
        "<media:group>"
        '<media:content url="https://img.example.org/a-small.jpg" width="140"/>'
        '<media:content url="https://img.example.org/a-large.jpg" width="1200"/>'
        "<media:description>Sailing boats pass the lighthouse.</media:description>"
        '<media:credit role="photographer">Kim Lund</media:credit>'
        '<media:thumbnail url="https://img.example.org/a-thumb.jpg"/>'
        "</media:group></item>"
    )
    article = parse(rss(item)).entries[0].article
    assert article.caption == "Sailing boats pass the lighthouse. / Kim Lund"
    assert article.summary == "Boats on parade."


def test_media_title_stands_in_for_a_missing_description(parse: Parse) -> None:
    item = (
        "<item><title>Bridge works</title><description>Lanes close at night.</description>"
        '<media:content url="https://img.example.org/b.jpg">'
        "<media:title>The old bridge</media:title>"
        "<media:credit>City archive</media:credit></media:content></item>"
    )
    assert parse(rss(item)).entries[0].article.caption == "The old bridge / City archive"


def test_credit_alone_and_repeated_credits_once(parse: Parse) -> None:
    credited = "<media:credit>Photograph: Ana Ruiz</media:credit>"
    item = (
        "<item><title>Storm damage</title><description>Roofs lost.</description>"
        f'<media:content url="https://img.example.org/s1.jpg">{credited}</media:content>'
        f'<media:content url="https://img.example.org/s2.jpg">{credited}</media:content>'
        "</item>"
    )
    assert parse(rss(item)).entries[0].article.caption == "Photograph: Ana Ruiz"


@pytest.mark.parametrize(
    ("element", "namespace"),
    [("yandex:full-text", 'xmlns:yandex="http://news.yandex.ru"'), ("full-text", "")],
)
def test_the_whole_article_in_a_full_text_element_is_the_body(
    parse: Parse, element: str, namespace: str
) -> None:
    # Feeds for Yandex News and ukr.net: a one-line teaser as description, the article apart.
    item = (
        "<item><title>Ferry line reopens</title><description>The ferry runs again.</description>"
        f"<{element}>The ferry between the two ports runs again from Monday.&lt;br /&gt;"
        f"&lt;br /&gt;Tickets are on sale at both harbours.</{element}></item>"
    )
    article = parse(rss(item, extra_ns=namespace)).entries[0].article
    assert article.summary == "The ferry runs again."
    assert [block.text for block in article.body] == [
        "The ferry between the two ports runs again from Monday.",
        "Tickets are on sale at both harbours.",
    ]


def test_content_encoded_is_the_body_before_a_full_text_element(parse: Parse) -> None:
    item = (
        "<item><title>Ferry line reopens</title><description>The ferry runs again.</description>"
        "<content:encoded><![CDATA[<p>The encoded body.</p>]]></content:encoded>"
        "<full-text>The full text.</full-text></item>"
    )
    article = parse(rss(item)).entries[0].article
    assert [block.text for block in article.body] == ["The encoded body."]


def test_utf8_caption_in_a_feed_labelled_latin1_reads_as_the_rest_of_the_item(
    parse: Parse,
) -> None:
    # UTF-8 bytes in a document that says ISO-8859-1: feedparser repairs its own fields, and
    # the caption, read by our own pass, must not keep the mojibake ("Â©").
    body = (
        '<?xml version="1.0" encoding="iso-8859-1"?>'
        '<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/"><channel><title>t</title>'
        "<item><title>Café owners protest</title><description>Rents rose.</description>"
        '<media:content url="https://img.example.org/c.jpg">'
        "<media:description>The café on the square</media:description>"
        "<media:credit>© Photo Archive</media:credit></media:content></item></channel></rss>"
    ).encode()
    article = parse(body).entries[0].article
    assert article.title == "Café owners protest"
    assert article.caption == "The café on the square / © Photo Archive"


def test_a_figcaption_in_the_body_is_the_caption_when_media_rss_gives_none(parse: Parse) -> None:
    figure = (
        "<figure><img src='https://img.example.org/pass.jpg'>"
        f"<figcaption>{CAPTION} <em>Photo: {CREDIT}</em></figcaption></figure>"
    )
    item = (
        "<item><title>Mountain pass reopens</title>"
        f"<description>{STANDFIRST}</description>"
        f"<content:encoded><![CDATA[{figure}<p>{BODY}</p>]]></content:encoded></item>"
    )
    article = parse(rss(item)).entries[0].article
    assert article.caption == f"{CAPTION} Photo: {CREDIT}"
    assert [block.text for block in article.body] == [BODY]
    with_media = item.replace("</item>", ITEM_PARTS["media"] + "</item>")
    assert parse(rss(with_media)).entries[0].article.caption == f"{CAPTION} / {CREDIT}"


def test_a_closing_image_credit_paragraph_is_the_captions_credit_not_body(parse: Parse) -> None:
    item = (
        "<item><title>Mountain pass reopens</title><description><![CDATA["
        f"<p>{STANDFIRST}</p><p>{BODY}</p><p>(Image credit: {CREDIT})</p>]]></description></item>"
    )
    article = parse(rss(item)).entries[0].article
    assert article.caption == f"Image credit: {CREDIT}"
    assert [block.text for block in article.body] == [STANDFIRST, BODY]
    with_media = item.replace("</item>", ITEM_PARTS["media"] + "</item>")
    article = parse(rss(with_media)).entries[0].article
    assert article.caption == f"{CAPTION} / {CREDIT}"
    assert [block.text for block in article.body] == [STANDFIRST, BODY]


def test_media_namespace_without_trailing_slash_and_html_caption(parse: Parse) -> None:
    body = (
        b'<rss version="2.0" xmlns:m="http://search.yahoo.com/mrss"><channel><title>t</title>'
        b"<item><title>Old namespace</title><description>Text.</description>"
        b'<m:content url="https://img.example.org/c.jpg">'
        b'<m:description type="html">A &lt;b&gt;bold&lt;/b&gt; caption</m:description>'
        b"<m:credit>Lee</m:credit></m:content></item></channel></rss>"
    )
    assert parse(body).entries[0].article.caption == "A bold caption / Lee"


def test_media_pairing_follows_guids_when_an_item_is_unreadable_for_feedparser(
    parse: Parse,
) -> None:
    items = "".join(
        f"<item><guid>g{n}</guid><title>Story {n}</title><description>Text {n}.</description>"
        f'<media:content url="https://img.example.org/{n}.jpg">'
        f"<media:description>Caption {n}</media:description></media:content></item>"
        for n in range(1, 4)
    )
    parsed = parse(rss(items))
    assert [e.article.caption for e in parsed.entries] == ["Caption 1", "Caption 2", "Caption 3"]


# --- Other formats ---------------------------------------------------------------------------


def test_atom_with_xhtml_content_and_subheadings(parse: Parse, feed_bytes) -> None:
    parsed = parse(feed_bytes("atom_xhtml.xml"), url="https://bergpost.example.net/feed.atom")
    assert (parsed.format, parsed.title, parsed.language) == ("atom10", "Bergpost", "de")
    article = parsed.entries[0].article
    assert article.title == "Neue Seilbahn & alte Wege"
    assert article.summary == "Die Gemeinde stellt die Pläne für die neue Seilbahn vor."
    assert article.body == [
        Block(text="Am Dienstag zeigte die Gemeinde die Pläne im Rathaus."),
        Block(kind="subheading", text="Kosten und Zeitplan"),
        Block(text="Der Bau soll im Herbst beginnen."),
        Block(kind="subheading", text="Offene Fragen"),
        Block(text="Über die Parkplätze wird noch beraten."),
    ]
    assert article.url == "https://bergpost.example.net/artikel/seilbahn"
    assert (article.section, article.source, article.language) == ("VERKEHR", "Lena Hofer", "de")
    # `published` wins over `updated`, in the publisher's own offset.
    assert parsed.entries[0].raw_date == "2025-05-20T07:15:00+02:00"
    assert article.published_at == dt.datetime(2025, 5, 20, 5, 15, tzinfo=dt.UTC)


def test_rss_1_0_rdf(parse: Parse, feed_bytes) -> None:
    parsed = parse(feed_bytes("rdf.xml"), section="Rivers")
    assert (parsed.format, parsed.language, len(parsed.entries)) == ("rss10", "fr", 2)
    first, second = (entry.article for entry in parsed.entries)
    assert first.title == "Niveau de la rivière en baisse"
    assert (first.section, first.source) == ("HYDROLOGIE", "Bureau du fleuve")
    assert first.date == dt.date(2025, 5, 18)
    assert first.published_at == dt.datetime(2025, 5, 18, 15, 20, tzinfo=dt.UTC)
    assert (second.section, second.source) == ("RIVERS", "River Notes")
    assert second.url == "https://river.example.com/notes/13"


def test_json_feed_1_0(parse: Parse, feed_bytes) -> None:
    parsed = parse(feed_bytes("json10.json"), {"Content-Type": "application/feed+json"})
    assert (parsed.format, parsed.title, parsed.link) == (
        "json1",
        "Lantern Weekly",
        "https://lantern.example.com/",
    )
    market, note = (entry.article for entry in parsed.entries)
    assert market.title == "Night market returns to the old quay"
    assert market.summary == "Stalls open every Friday from June."
    assert market.body[1] == Block(kind="subheading", text="Where to park")
    assert (market.section, market.source) == ("LOCAL LIFE", "Lantern Staff")
    assert market.date == dt.date(2025, 5, 19)
    assert market.published_at == dt.datetime(2025, 5, 19, 22, 0, tzinfo=dt.UTC)
    # An item without a title gets one from its text; a numeric id still identifies it.
    assert note.title == "Short note: the library closes early on Thursday."
    assert note.guid == "42" and parsed.entries[1].key == "guid:42"
    assert parsed.problems == [
        "entry 3: a JSON str, not an item object",
        "entry 2: no title; used the start of its text",
    ]


def test_json_feed_1_1(parse: Parse, feed_bytes) -> None:
    parsed = parse(feed_bytes("json11.json"), {"content-type": "application/json"})
    article = parsed.entries[0].article
    assert (parsed.format, parsed.language) == ("json1.1", "nl")
    assert article.source == "Anouk de Vries, Pieter Bos"
    assert article.language == "nl-be"
    assert [block.text for block in article.body] == [
        "The first trees flowered on Saturday.",
        "Guided walks start on Wednesday.",
    ]
    assert parsed.entries[0].raw_date == "2025-05-18T09:00:00+02:00"


def test_json_that_is_not_a_json_feed(parse: Parse) -> None:
    with pytest.raises(FeedParseError, match=r"^test-feed: JSON without a jsonfeed\.org version"):
        parse(b'{"rss": {"channel": {}}}')
    with pytest.raises(
        FeedParseError, match=r"^test-feed: invalid JSON at line 1, column 13: Expecting value"
    ):
        parse(b'{"version": ', {"content-type": "application/feed+json"})


# --- Bodies that are not feeds ---------------------------------------------------------------


def test_html_page_is_not_a_feed(parse: Parse, feed_bytes) -> None:
    with pytest.raises(FeedParseError, match=r"^test-feed: an HTML page, not a feed$"):
        parse(feed_bytes("html_page.html"), {"content-type": "text/html; charset=utf-8"})


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "the body is empty"),
        (b"  \r\n ", "the body is empty"),
        (b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03", "the body is gzip-compressed data"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "the body is binary data"),
        (b"Service temporarily unavailable", "not a feed"),
    ],
)
def test_bodies_that_are_not_feeds(parse: Parse, body: bytes, reason: str) -> None:
    with pytest.raises(FeedParseError, match=rf"^test-feed: {reason}"):
        parse(body)


def test_truncated_feed_keeps_the_complete_entries(parse: Parse) -> None:
    # The last item broke off before its guid: read now, it would come back as a second entry
    # (under its guid) once the feed is whole.
    whole = rss("".join(f"<item><title>Item {n}</title><guid>i{n}</guid></item>" for n in range(3)))
    parsed = parse(whole[: whole.index(b"<guid>i2")])
    assert [e.article.title for e in parsed.entries] == ["Item 0", "Item 1"]
    assert any("read with the lenient parser" in problem for problem in parsed.problems)
    assert (
        "feed: the document breaks off inside its last entry ('Item 2'); it is read when the "
        "feed sends it whole"
    ) in parsed.problems


@pytest.mark.parametrize("cut_before", [b"</channel>", b"</rss>"])
def test_a_feed_that_breaks_off_after_an_item_keeps_that_item(
    parse: Parse, cut_before: bytes
) -> None:
    whole = rss("".join(f"<item><title>Item {n}</title><guid>i{n}</guid></item>" for n in range(3)))
    parsed = parse(whole[: whole.index(cut_before)] + b"\n")
    assert [e.article.title for e in parsed.entries] == ["Item 0", "Item 1", "Item 2"]


def test_junk_after_the_end_of_a_feed_loses_no_entry(parse: Parse) -> None:
    whole = rss("".join(f"<item><title>Item {n}</title><guid>i{n}</guid></item>" for n in range(3)))
    parsed = parse(whole + b"\n<b>Warning</b>: Cannot modify header information in feed.php")
    assert [e.article.title for e in parsed.entries] == ["Item 0", "Item 1", "Item 2"]


def test_truncated_beyond_recovery_is_an_error(parse: Parse) -> None:
    with pytest.raises(FeedParseError, match=r"^test-feed: .*not well-formed XML at line 1"):
        parse(b'<?xml version="1.0"?><rss version="2.0"><channel><ti')


def test_empty_feed_is_a_feed_with_no_entries(parse: Parse) -> None:
    parsed = parse(rss("", channel="<title>Quiet</title><ttl>60</ttl>"))
    assert (parsed.title, parsed.entries, parsed.problems, parsed.ttl) == ("Quiet", [], [], 60)


# --- Encodings --------------------------------------------------------------------------------

LATIN = "Curaçao, Ærø and Köln: «déjà vu»"


def latin1_feed(declared: str) -> bytes:
    head = f'<?xml version="1.0" encoding="{declared}"?>'
    channel = f"<channel><title>{LATIN}</title><item><title>{LATIN}</title></item></channel>"
    return f'{head}<rss version="2.0">{channel}</rss>'.encode("iso-8859-1")


def test_iso_8859_1_body_declared_in_xml(parse: Parse) -> None:
    parsed = parse(latin1_feed("ISO-8859-1"))
    assert parsed.entries[0].article.title == LATIN
    assert parsed.problems == []


def test_header_charset_wins_over_a_wrong_xml_declaration(parse: Parse) -> None:
    parsed = parse(
        latin1_feed("utf-8"), {"Content-Type": "application/rss+xml; charset=ISO-8859-1"}
    )
    assert parsed.entries[0].article.title == LATIN


def test_wrong_header_charset_is_overridden_and_noted(parse: Parse) -> None:
    parsed = parse(latin1_feed("iso-8859-1"), {"content-type": "application/xml; charset=utf-8"})
    assert parsed.entries[0].article.title == LATIN
    assert any("CharacterEncodingOverride" in problem for problem in parsed.problems)


def test_an_undeclared_latin1_document_is_named_as_such(parse: Parse) -> None:
    body = f'<rss version="2.0"><channel><title>t</title><item><title>{LATIN}</title></item>'
    parsed = parse(f"{body}</channel></rss>".encode("iso-8859-1"))
    assert parsed.entries[0].article.title == LATIN
    assert parsed.problems == [
        "feed: the document declares no encoding and is not UTF-8; read as windows-1252"
    ]


def test_windows_1252_smart_quotes(parse: Parse) -> None:
    body = (
        '<?xml version="1.0" encoding="windows-1252"?><rss version="2.0"><channel><title>q</title>'
        "<item><title>\u201cQuoted\u201d \u2013 that\u2019s \u20ac5</title></item></channel></rss>"
    ).encode("windows-1252")
    assert parse(body).entries[0].article.title == "\u201cQuoted\u201d \u2013 that\u2019s \u20ac5"


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf_16(parse: Parse, codec: str) -> None:
    body = (
        '<?xml version="1.0" encoding="utf-16"?><rss version="2.0"><channel><title>Ω</title>'
        "<item><title>Ünïcödé ŞİĞ</title><guid>u1</guid></item></channel></rss>"
    ).encode(codec)
    parsed = parse(body)
    assert (parsed.title, parsed.entries[0].article.title) == ("Ω", "Ünïcödé ŞİĞ")


def test_leading_whitespace_before_the_xml_declaration(parse: Parse) -> None:
    parsed = parse(b"\n  " + rss("<item><title>Fine</title></item>"))
    assert [e.article.title for e in parsed.entries] == ["Fine"]
    assert parsed.problems == []


# --- Entries with missing or bad fields -------------------------------------------------------


def test_entry_with_no_link(parse: Parse) -> None:
    parsed = parse(rss("<item><title>No link here</title><description>Text.</description></item>"))
    entry = parsed.entries[0]
    assert (entry.article.url, entry.article.guid) == (None, None)
    assert entry.key.startswith("text:")


def test_guid_that_is_not_a_url_is_not_used_as_the_link(parse: Parse) -> None:
    entry = parse(rss("<item><title>Odd guid</title><guid>x4</guid></item>")).entries[0]
    assert (entry.article.url, entry.article.guid, entry.key) == (None, "x4", "guid:x4")


def test_entry_with_no_date_falls_back_to_the_fetch_time(parse: Parse) -> None:
    entry = parse(rss("<item><title>Undated</title></item>")).entries[0]
    assert (entry.raw_date, entry.date_fallback) == (None, True)
    assert entry.article.date == FETCHED_AT.date()
    assert entry.article.published_at == FETCHED_AT
    assert entry.article.age == ""


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ("Mon, 01 May 2099 10:00:00 +0000", "is in the future"),
        # 08:30 in Istanbul written as UTC: three hours after the fetch at 05:30 UTC.
        ("Tue, 20 May 2025 08:30:00 +0000", "is in the future"),
        ("2024-13-45T99:00:00Z", "not understood"),
        ("Seg, 24 Xyz 2018 19:42:40 -0300", "not understood"),
        ("Thu, 01 Jan 1970 00:00:00 GMT", "not understood"),
    ],
)
def test_future_or_unreadable_date_falls_back_and_keeps_the_raw_string(
    parse: Parse, raw: str, problem: str
) -> None:
    parsed = parse(rss(f"<item><title>Odd date</title><pubDate>{raw}</pubDate></item>"))
    entry = parsed.entries[0]
    assert (entry.raw_date, entry.date_fallback) == (raw, True)
    assert entry.article.published_at == FETCHED_AT
    assert parsed.problems == [f"entry 1: date {raw!r} {problem}; using the fetch time"]


def test_a_date_minutes_ahead_of_the_fetch_is_clock_skew_and_kept(parse: Parse) -> None:
    raw = "Tue, 20 May 2025 05:36:00 +0000"
    entry = parse(rss(f"<item><title>Skewed</title><pubDate>{raw}</pubDate></item>")).entries[0]
    assert not entry.date_fallback
    assert entry.article.published_at == FETCHED_AT + dt.timedelta(minutes=6)


def test_updated_date_is_used_when_published_is_missing(parse: Parse) -> None:
    item = "<item><title>Dated</title><dc:date>2025-05-19T23:10:00-05:00</dc:date></item>"
    article = parse(rss(item)).entries[0].article
    assert article.date == dt.date(2025, 5, 19)
    assert article.published_at == dt.datetime(2025, 5, 20, 4, 10, tzinfo=dt.UTC)
    assert article.age == "1 hour ago"


def test_entry_without_title_gets_one_and_an_empty_entry_is_skipped(parse: Parse) -> None:
    items = (
        "<item><description>Power returns to the east district. Crews stay on call.</description>"
        "</item><item><guid>empty</guid></item><item><title>Normal</title></item>"
    )
    parsed = parse(rss(items))
    assert [e.article.title for e in parsed.entries] == [
        "Power returns to the east district.",
        "Normal",
    ]
    assert parsed.problems == [
        "entry 1: no title; used the start of its text",
        "entry 2: no title and no text; skipped",
    ]


def test_source_prefers_dc_source_then_author_then_config_then_feed_title(parse: Parse) -> None:
    items = (
        "<item><title>A</title><dc:source>Wire Agency</dc:source>"
        "<dc:creator>Ann</dc:creator></item>"
        "<item><title>B</title><dc:creator>Ann</dc:creator></item>"
        "<item><title>C</title><author>desk@example.org</author></item>"
        # A `dc:source` that only names the site's address is no agency.
        "<item><title>D</title><dc:source>https://news.example.org</dc:source>"
        "<dc:creator>Ann</dc:creator></item>"
    )
    assert [e.article.source for e in parse(rss(items), source="Configured").entries] == [
        "Wire Agency",
        "Ann",
        "Configured",
        "Ann",
    ]
    assert parse(rss(items)).entries[2].article.source == "Test channel"


def test_language_from_entry_then_feed_then_config(parse: Parse) -> None:
    items = (
        '<item xml:lang="tr"><title>Bir</title></item>'
        "<item><title>Two</title><dc:language>en-US</dc:language></item>"
    )
    assert [e.article.language for e in parse(rss(items), language="fr").entries] == [
        "tr",
        "en-us",
    ]
    bare = parse(rss("<item><title>x</title></item>"), language="fr")
    assert (bare.language, bare.entries[0].article.language) == ("fr", "fr")


def test_bad_ttl_is_ignored_with_a_problem(parse: Parse) -> None:
    parsed = parse(rss("", channel="<title>t</title><ttl>soon</ttl>"))
    assert parsed.ttl is None
    assert parsed.problems == ["feed: <ttl> 'soon' is not a number of minutes; ignored"]


# --- Identity across polls --------------------------------------------------------------------


def poll(dates: list[str], order: list[int]) -> bytes:
    stories = [
        ("<guid>s-1</guid>", "Story one"),
        ("<link>https://e.org/two?utm_source=rss</link>", "Story two"),
        ("", "Story three"),
    ]
    return rss("".join(
        f"<item>{stories[n][0]}<title>{stories[n][1]}</title><pubDate>{dates[n]}</pubDate></item>"
        for n in order
    ))  # fmt: skip


def test_keys_stable_when_the_feed_reorders_and_redates(parse: Parse) -> None:
    first = parse(poll(["Mon, 19 May 2025 08:00:00 GMT"] * 3, [0, 1, 2]))
    later = parse(poll(["Tue, 20 May 2025 01:00:00 GMT"] * 3, [2, 0, 1]))
    keys = {e.article.title: e.key for e in first.entries}
    assert keys == {e.article.title: e.key for e in later.entries}
    assert keys["Story one"] == "guid:s-1"
    assert keys["Story two"] == "link:https://e.org/two"
    assert keys["Story three"].startswith("text:")


def test_repeated_guid_keys_use_the_link(parse: Parse) -> None:
    items = "".join(
        f"<item><guid>same</guid><link>https://e.org/{n}</link><title>T{n}</title></item>"
        for n in (1, 2)
    )
    assert [e.key for e in parse(rss(items)).entries] == [
        "guid+link:same https://e.org/1",
        "guid+link:same https://e.org/2",
    ]


def test_per_feed_identity_override(parse: Parse) -> None:
    item = "<item><guid>session-77</guid><link>https://e.org/a</link><title>T</title></item>"
    assert parse(rss(item), identity="link").entries[0].key == "link:https://e.org/a"


def test_atom_entry_with_media_group_keeps_summary_body_and_caption_apart(parse: Parse) -> None:
    body = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:media="http://search.yahoo.com/mrss/">
  <title>Clips</title><id>tag:clips</id><updated>2025-05-20T04:00:00Z</updated>
  <entry>
    <id>tag:clips:1</id><title>Harbour crane lifts the new lock gate</title>
    <updated>2025-05-20T04:00:00Z</updated>
    <media:group>
      <media:title>Lock gate lift</media:title>
      <media:description>The gate weighs 80 tonnes.</media:description>
      <media:credit>Port TV</media:credit>
    </media:group>
    <summary type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">
      <p>A short clip.</p><p>Two parts.</p></div></summary>
    <content type="html">&lt;p&gt;The crane lifted the gate at dawn.&lt;/p&gt;</content>
  </entry>
</feed>"""
    article = parse(body).entries[0].article
    assert article.title == "Harbour crane lifts the new lock gate"
    assert article.caption == "The gate weighs 80 tonnes. / Port TV"
    assert article.summary == "A short clip."
    assert [block.text for block in article.body] == ["The crane lifted the gate at dawn."]
