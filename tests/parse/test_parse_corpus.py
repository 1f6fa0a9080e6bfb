"""Every real-world feed of the shared corpus through parse_feed (issue 3 §6).

The corpus root comes from WATCHER_TEST_CORPUS (CI sets it; locally
`WATCHER_TEST_CORPUS=/work/shared/corpus`). Expectations are the ones the corpus README gives:
entry counts and formats per file, which files are malformed, what each quirk file exercises.
"""

from __future__ import annotations

import ast
import datetime as dt
import io
import json
import os
import pathlib
import re

import feedparser
import pytest

from watcher.feeds.parse import FeedContext, FeedParseError, ParsedFeed, parse_feed

pytestmark = pytest.mark.corpus

CORPUS = os.environ.get("WATCHER_TEST_CORPUS")
FEEDS = pathlib.Path(CORPUS or ".") / "feeds"
NOT_SET = pytest.mark.skip(reason="WATCHER_TEST_CORPUS is not set (the real-world feed corpus)")
FETCHED_AT = dt.datetime(2026, 8, 14, 12, 0, tzinfo=dt.UTC)

# From the corpus README: file → (feedparser version, entries); the bozo column → BOZO.
NEWS = {
    "aktuality-sk_2021-01-17.rss": ("rss20", 30),
    "aljazeera-all_2026-08-13_0404Z.xml": ("rss20", 25),
    "aljazeera-all_2026-08-13_0851Z.xml": ("rss20", 25),
    "bbc-frontpage_2023-11-24.xml": ("rss20", 16),
    "bbc-frontpage_2026-04-25.xml": ("rss20", 27),
    "bbc-world_2026-08-13_0423Z.xml": ("rss20", 28),
    "bbc-world_2026-08-13_0926Z.xml": ("rss20", 32),
    "dailymail-us_2013-02-03_iso-8859-1_media-dupes.xml": ("rss20", 1),
    "dw-en-rdf_2026-07-26_trimmed.xml": ("rss10", 2),
    "gdacs-alerts_2016-04-09_bom.xml": ("rss20", 23),
    "guardian-us_2018-01-31.rss": ("rss20", 55),
    "guardian-world_2022-09-25_no-xml-decl_raw-ampersands.xml": ("rss20", 54),
    "heise-de-atom_2026-04-25.xml": ("atom10", 150),
    "heise-developer-atom_2016-02-01.atom": ("atom10", 15),
    "huffpost-world_2019-06-30.xml": ("rss20", 31),
    "ilmessaggero-it_mojibake_trimmed.xml": ("rss20", 1),
    "japantimes_2023-11-24.xml": ("rss20", 30),
    "jornal-de-noticias-pt_2018-01-03_iso-8859-1.rss": ("rss20", 40),
    "lemonde-fr_2018-02-11.xml": ("rss20", 21),
    "livemint-news_2019-05-29.xml": ("rss20", 25),
    "mehrnews-en_2026-08-13.xml": ("rss20", 30),
    "npr-news_2023-11-24.xml": ("rss20", 15),
    "nyt-homepage_2023-11-24.xml": ("rss20", 25),
    "nyt-world_2026-08-13.xml": ("rss20", 56),
    "oren-ru_2014-01-23_windows-1251.xml": ("rss20", 10),
    "qq-news-cn_2018-09-18_gb2312.xml": ("rss20", 20),
    "reuters-worldnews_2018-01-30.xml": ("rss20", 10),
    "suspilne-ua_2023-12-21_default-namespace.xml": ("rss20", 20),
    "tagesschau-de_2026-04-25.xml": ("rss20", 40),
    "talkingpointsmemo_2017-11-08.atom": ("atom10", 20),
    "un-news-europe_2022-04-01.xml": ("rss20", 30),
    "uol-noticias-br_2018-09-24_latin1-undeclared_pt-dates.rss": ("rss", 15),
    "washingtonpost-wellness_2012-08-24.xml": ("rss20", 29),
}
OTHER_XML = {
    "encodings/dicas-l-br_rss091_iso-8859-1.xml": ("rss091u", 1),
    "encodings/golem-de_rss1_iso-8859-1.xml": ("rss10", 1),
    "encodings/inovacaotecnologica-br_iso-8859-1.xml": ("rss20", 1),
    "encodings/kc0011-cn_gb2312.rss": ("rss20", 20),
    "encodings/tjrs-br_rss091_iso-8859-1.xml": ("rss091u", 1),
    "quirks/donthitsave_bom.xml": ("rss20", 10),
    "quirks/londoner_whitespace-before-xml-decl.xml": ("rss20", 40),
    "quirks/macworld_leading-whitespace-no-decl.rss": ("rss20", 30),
    # feedparser reads 20 entries, 10 of them empty shells of illegally nested items.
    "quirks/pcmag-dvorak_illegally-nested.xml": ("rss20", 10),
}
# The feed-level problems of malformed XML (guardian) and of an undeclared Latin-1 document (uol).
BOZO = {
    "guardian-world_2022-09-25_no-xml-decl_raw-ampersands.xml": "not well-formed XML",
    "uol-noticias-br_2018-09-24_latin1-undeclared_pt-dates.rss": (
        "the document declares no encoding and is not UTF-8; read as windows-1252"
    ),
}


def files(folder: str, suffixes: tuple[str, ...] = ("",)) -> list[object]:
    """The corpus files under `folder` whose names end in one of `suffixes`."""
    if not CORPUS:
        return [pytest.param(None, marks=NOT_SET)]
    root = FEEDS / folder
    found = (p for p in root.rglob("*") if p.is_file() and p.name.endswith(suffixes))
    return sorted(path.relative_to(root).as_posix() for path in found)


def parse_file(path: pathlib.Path, headers: dict[str, str] | None = None) -> ParsedFeed:
    context = FeedContext(name=path.name, url="https://corpus.example/" + path.name)
    return parse_feed(path.read_bytes(), headers or {}, feed=context, fetched_at=FETCHED_AT)


@pytest.mark.parametrize("name", files("news"))
def test_news_feed_entries_and_format(name: str) -> None:
    parsed = parse_file(FEEDS / "news" / name)
    assert (parsed.format, len(parsed.entries)) == NEWS[name]
    feed_problems = [problem for problem in parsed.problems if problem.startswith("feed:")]
    if name in BOZO:
        assert any(BOZO[name] in problem for problem in feed_problems)
    else:
        assert feed_problems == []
    for entry in parsed.entries:
        assert entry.article.title
        assert entry.article.feed == name


@pytest.mark.parametrize("name", files("news", (".xml", ".rss")))
def test_text_xml_without_a_charset_is_no_encoding_problem(name: str) -> None:
    # RFC 3023 made that us-ascii; RFC 7303 (and every reader) goes by the document itself.
    as_text_xml = parse_file(FEEDS / "news" / name, {"content-type": "text/xml"})
    as_served = parse_file(FEEDS / "news" / name)
    assert as_text_xml.problems == as_served.problems
    assert as_text_xml.entries == as_served.entries


@pytest.mark.parametrize("name", files("other-realworld", (".xml", ".rss")))
def test_other_xml_feed_entries_and_format(name: str) -> None:
    parsed = parse_file(FEEDS / "other-realworld" / name)
    assert (parsed.format, len(parsed.entries)) == OTHER_XML[name]


@pytest.mark.parametrize("name", files("other-realworld/jsonfeed", (".json",)))
def test_json_feeds(name: str) -> None:
    path = FEEDS / "other-realworld/jsonfeed" / name
    document = json.loads(path.read_bytes())
    if "version" not in document:
        # Dave Winer's "RSS in JSON": JSON, but not a JSON Feed.
        with pytest.raises(FeedParseError, match=rf"^{re.escape(name)}: .*not a JSON Feed"):
            parse_file(path)
        return
    parsed = parse_file(path)
    assert parsed.format.startswith("json1")
    assert len(parsed.entries) == len(document["items"])
    assert all(entry.article.title for entry in parsed.entries)
    assert sum(bool(entry.article.body) for entry in parsed.entries) >= len(parsed.entries) - 1


def corpus_feed(name: str) -> ParsedFeed:
    if not CORPUS:
        pytest.skip("WATCHER_TEST_CORPUS is not set (the real-world feed corpus)")
    return parse_file(FEEDS / "news" / name)


@pytest.mark.parametrize(
    "name",
    [
        "guardian-us_2018-01-31.rss",
        "tagesschau-de_2026-04-25.xml",
        "washingtonpost-wellness_2012-08-24.xml",
    ],
)
def test_no_body_or_summary_ends_with_a_read_more_link(name: str) -> None:
    endings = [
        text.rsplit(maxsplit=2)[-2:]
        for entry in corpus_feed(name).entries
        for text in (entry.article.summary, *(b.text for b in entry.article.body[-1:]))
        if text
    ]
    assert endings
    readings = {" ".join(words).lower() for words in endings}
    assert not {"continue reading...", "article >>"} & readings
    assert not any(reading.endswith("[mehr]") for reading in readings)


def test_a_figure_caption_in_an_atom_body_becomes_the_caption() -> None:
    entries = corpus_feed("talkingpointsmemo_2017-11-08.atom").entries
    [article] = [e.article for e in entries if e.article.title.startswith("A Night Of Firsts")]
    assert article.caption.startswith("Deebaa Sirdar (left) and Sara Lopez (right) took a selfie")
    assert not any(article.caption[:40] in block.text for block in article.body)


def test_npr_image_credits_are_captions_not_body_paragraphs() -> None:
    articles = [e.article for e in corpus_feed("npr-news_2023-11-24.xml").entries]
    credited = [a for a in articles if a.caption.startswith("Image credit: ")]
    assert len(credited) >= 10
    assert not any("Image credit" in block.text for a in articles for block in a.body)


def test_dailymail_caption_has_description_and_credit() -> None:
    article = corpus_feed("dailymail-us_2013-02-03_iso-8859-1_media-dupes.xml").entries[0].article
    assert article.caption.startswith("Black Dahlia: A head shot of Elizabeth Short")
    # UTF-8 bytes in a document declared Latin-1, repaired as feedparser repairs the rest.
    assert article.caption.endswith(" / © Bettmann/CORBIS")
    assert article.summary.startswith("The shocking murder of Elizabeth Short")
    assert "head shot" not in " ".join(block.text for block in article.body)


@pytest.mark.parametrize(
    ("name", "paragraphs"),
    [
        ("oren-ru_2014-01-23_windows-1251.xml", 4),
        ("suspilne-ua_2023-12-21_default-namespace.xml", 12),
    ],
)
def test_the_article_in_full_text_elements_is_the_body_not_the_teaser(
    name: str, paragraphs: int
) -> None:
    article = corpus_feed(name).entries[0].article
    assert len(article.body) == paragraphs
    assert len(" ".join(block.text for block in article.body)) > 3 * len(article.summary)


@pytest.mark.parametrize("name", ["nyt-world_2026-08-13.xml", "nyt-homepage_2023-11-24.xml"])
def test_nyt_captions_and_credits_never_misfiled(name: str) -> None:
    parsed = corpus_feed(name)
    raw = (FEEDS / "news" / name).read_bytes()
    described = [e.article for e in parsed.entries if " / " in e.article.caption]
    assert len(described) == raw.count(b"<media:description")
    for article in described:
        caption_text = article.caption.rsplit(" / ", 1)[0]
        assert caption_text not in article.summary
        assert all(caption_text not in block.text for block in article.body)
        assert article.caption.endswith(("The New York Times", "Times")) or " / " in article.caption


def test_guardian_with_raw_ampersands_keeps_every_credit() -> None:
    parsed = corpus_feed("guardian-world_2022-09-25_no-xml-decl_raw-ampersands.xml")
    assert all(entry.article.caption.startswith("Photograph") for entry in parsed.entries)


def test_italian_dates_feedparser_cannot_read_are_read() -> None:
    entry = corpus_feed("ilmessaggero-it_mojibake_trimmed.xml").entries[0]
    assert (entry.article.date, entry.date_fallback) == (dt.date(2022, 11, 16), False)
    assert entry.article.published_at == dt.datetime(2022, 11, 15, 23, 38, 15, tzinfo=dt.UTC)


def test_portuguese_dates_are_read_in_the_publishers_offset() -> None:
    parsed = corpus_feed("uol-noticias-br_2018-09-24_latin1-undeclared_pt-dates.rss")
    assert all(e.raw_date.startswith("Seg, 24 Set 2018") for e in parsed.entries)
    assert not any(e.date_fallback for e in parsed.entries)
    assert {e.article.date for e in parsed.entries} == {dt.date(2018, 9, 24)}
    assert all(e.article.published_at.utcoffset() == dt.timedelta(0) for e in parsed.entries)


def test_zoneless_dates_are_read_as_utc() -> None:
    entry = corpus_feed("qq-news-cn_2018-09-18_gb2312.xml").entries[0]
    assert not entry.date_fallback
    assert entry.article.published_at.tzinfo == dt.UTC
    assert any("\u4e00" <= char <= "\u9fff" for char in entry.article.title)


def test_stale_items_in_a_fresh_feed_keep_their_own_dates() -> None:
    parsed = corpus_feed("bbc-frontpage_2023-11-24.xml")
    assert {e.article.date.year for e in parsed.entries} <= {2016, 2017, 2018}
    assert not any(e.date_fallback for e in parsed.entries)


def test_windows_1251_feed_decodes() -> None:
    parsed = corpus_feed("oren-ru_2014-01-23_windows-1251.xml")
    assert all(re.search("[\u0400-\u04ff]", e.article.title) for e in parsed.entries)


@pytest.mark.parametrize(
    ("earlier", "later"),
    [
        ("aljazeera-all_2026-08-13_0404Z.xml", "aljazeera-all_2026-08-13_0851Z.xml"),
        ("bbc-world_2026-08-13_0423Z.xml", "bbc-world_2026-08-13_0926Z.xml"),
    ],
)
def test_same_story_in_two_snapshots_has_the_same_key(earlier: str, later: str) -> None:
    first = {e.article.url: e.key for e in corpus_feed(earlier).entries}
    second = {e.article.url: e.key for e in corpus_feed(later).entries}
    shared = first.keys() & second.keys()
    assert shared
    assert all(first[url] == second[url] for url in shared)
    assert len(set(first.values())) == len(first)


def test_illegally_nested_items_are_skipped_with_a_problem() -> None:
    if not CORPUS:
        pytest.skip("WATCHER_TEST_CORPUS is not set (the real-world feed corpus)")
    parsed = parse_file(FEEDS / "other-realworld/quirks/pcmag-dvorak_illegally-nested.xml")
    assert len(parsed.entries) == 10
    assert len([p for p in parsed.problems if p.endswith("no title and no text; skipped")]) == 10
    assert not any(e.date_fallback for e in parsed.entries)


# --- feedparser's own test data ---------------------------------------------------------------

HEADER = re.compile(r"^Header:\s*([\w-]+):\s*(.*?)\s*$", re.M)


def areas() -> list[object]:
    if not CORPUS:
        return [pytest.param(None, marks=NOT_SET)]
    root = FEEDS / "feedparser-tests"
    return sorted({p.parent.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()})


def served_headers(raw: bytes) -> dict[str, str]:
    """The HTTP headers feedparser's harness serves with a test file (its `Header:` lines)."""
    text = raw.replace(b"\x00", b"").decode("latin-1")
    return {name.lower(): value for name, value in HEADER.findall(text)}


@pytest.mark.parametrize("area", areas())
def test_feedparser_test_files_parse_or_fail_cleanly(area: str) -> None:
    unclear = []
    for path in sorted((FEEDS / "feedparser-tests" / area).iterdir()):
        if not path.is_file():
            continue
        try:
            parse_file(path, served_headers(path.read_bytes()))
        except FeedParseError as error:
            if not str(error).startswith(f"{path.name}: ") or len(str(error)) < len(path.name) + 8:
                unclear.append(f"{path.name}: {error}")
    assert unclear == []


TITLE_EXPECTATION = re.compile(
    r"Expect:\s*(?:not bozo and |bozo and )?feed\['title'\] == ('(?:[^'\\]|\\.)*')\s*$", re.M
)


def encoding_cases() -> list[object]:
    if not CORPUS:
        return [pytest.param(None, marks=NOT_SET)]
    root = FEEDS / "feedparser-tests"
    return sorted(
        path.relative_to(root).as_posix()
        for folder in ("head/encoding", "v6.0.11-only/encoding")
        for path in (root / folder).iterdir()
        if TITLE_EXPECTATION.search(path.read_bytes().replace(b"\x00", b"").decode("latin-1"))
    )


# Code pages feedparser 6 names but Python has no codec for: read as windows-1252 by both.
PYTHON_LACKS = {
    "x80_csmacintosh.xml", "x80_mac.xml", "x80_ms-cyrl.xml", "x80_tcvn-5712.xml",
    "x80_tcvn.xml", "x80_tcvn5712-1.xml", "x80_viscii.xml",
}  # fmt: skip


@pytest.mark.parametrize("case", encoding_cases())
def test_charset_detection_matches_feedparser(case: str) -> None:
    """Our entity guard and encoding step read every charset case of feedparser's suite as
    feedparser itself does, and get the title its `Expect:` line names."""
    raw = (FEEDS / "feedparser-tests" / case).read_bytes()
    meta = raw.replace(b"\x00", b"").decode("latin-1")
    expected = ast.literal_eval(TITLE_EXPECTATION.search(meta).group(1))
    headers = served_headers(raw)
    ours = parse_file(FEEDS / "feedparser-tests" / case, headers).title
    assert ours == feedparser.parse(io.BytesIO(raw), response_headers=headers).feed.get("title")
    if pathlib.PurePath(case).name not in PYTHON_LACKS:
        assert ours == expected
