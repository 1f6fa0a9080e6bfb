"""Render and read agree: articles survive the seed format, well-formed files survive reading.

The seed format does not mark block kinds; the reader infers them with `classify_block`. The
generated articles therefore give every body block the kind `classify_block(text)` says, which is
exactly the set of articles the format can carry without loss.
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from watcher.article import Article, Block
from watcher.seedtext import (
    SEPARATOR,
    classify_block,
    parse,
    read_articles,
    read_file,
    render,
    render_many,
)

SEEDS = Path(__file__).resolve().parents[2] / ".." / "shared" / "seeds"

# Characters the hard cases of DESIGN §4 are made of: Turkish letters, curly quotes and
# apostrophes, the non-breaking hyphen U+2011, a soft hyphen, a zero-width space, emoji.
SPECIAL = "İıIiŞşĞğÜüÖöÇç“”‘’„«»\u2011\u2013\u2014\u00ad\u200b😀🇹🇷…"
PUNCTUATION = [".", "!", "?", ":", ";", "…", ".”", "?’", '."', ".)"]

# Excluding these categories excludes every character str.isspace() knows: line breaks and
# runs of spaces are not header text (the Article model folds them to one space).
letters = st.characters(
    exclude_categories=("Cs", "Cc", "Zs", "Zl", "Zp"), include_characters=SPECIAL
)
word = st.one_of(
    st.text(letters, min_size=1, max_size=12),
    st.text(st.sampled_from(SPECIAL + "abSy-'"), min_size=1, max_size=12),
)
words = st.lists(word, max_size=8).map(" ".join)
non_empty_words = st.lists(word, min_size=1, max_size=8).map(" ".join)


@st.composite
def block_texts(draw: st.DrawFn) -> str:
    """Short headings, long paragraphs, and sentences ending in punctuation and quotes."""
    text = draw(
        st.one_of(
            non_empty_words,
            st.lists(word, min_size=10, max_size=25).map(" ".join),
        )
    )
    if draw(st.booleans()):
        text += draw(st.sampled_from(PUNCTUATION))
    return text


def as_block(text: str) -> Block:
    return Block(kind=classify_block(text), text=text)


articles = st.builds(
    Article,
    date=st.dates(),
    section=words,
    title=non_empty_words,
    summary=words,
    caption=words,
    age=words,
    body=st.lists(block_texts().map(as_block), max_size=8),
    source=words,
)


@given(articles)
def test_render_then_parse_gives_the_same_article(article: Article) -> None:
    assert parse(render(article)) == article


@given(articles)
def test_rendered_text_is_lf_only_with_one_final_newline(article: Article) -> None:
    text = render(article)
    assert "\r" not in text
    assert text.endswith("\n") and not text.endswith("\n\n")
    assert text.startswith(f" date {article.date.isoformat()}")


@given(st.lists(articles, min_size=1, max_size=4))
def test_a_rendered_stream_reads_back_article_by_article(batch: list[Article]) -> None:
    assume(all(SEPARATOR not in render(a).split("\n") for a in batch))
    stream = io.BytesIO(render_many(batch).encode("utf-8"))
    assert list(read_articles(stream, path="-")) == batch


@st.composite
def well_formed_texts(draw: st.DrawFn) -> str:
    """Seed text written the canonical way, without going through an Article."""
    date = draw(st.dates()).isoformat()
    section = draw(words)
    first = f" date {date} {section}" if section else f" date {date}"
    header = [first, draw(non_empty_words), draw(words), draw(words), draw(words)]
    body = draw(st.lists(block_texts(), max_size=8))
    return "\n\n".join(["\n".join(header), *body, "SOURCE:" + draw(words)]) + "\n"


@given(well_formed_texts())
def test_parse_then_render_of_a_well_formed_text_is_byte_identical(text: str) -> None:
    assert render(parse(text)).encode("utf-8") == text.encode("utf-8")


@given(well_formed_texts(), st.sampled_from(["\r\n", "\r"]), st.booleans())
def test_crlf_cr_and_bom_variants_parse_the_same(text: str, newline: str, bom: bool) -> None:
    variant = ("\ufeff" if bom else "") + text.replace("\n", newline)
    assert parse(variant) == parse(text)
    if SEPARATOR not in text.split("\n"):  # a '---' line splits a stream by design
        stream = io.BytesIO(variant.encode("utf-8"))
        assert list(read_articles(stream)) == [parse(text)]


@given(well_formed_texts(), st.sampled_from([" ", "\t", "  \t "]))
def test_trailing_whitespace_on_lines_is_ignored(text: str, padding: str) -> None:
    padded = "\n".join(line + padding for line in text.split("\n"))
    assert parse(padded) == parse(text)


def test_a_block_written_over_several_lines_is_one_paragraph() -> None:
    text = (
        " date 2025-05-21 WORLD\nTitle\nStandfirst\n\n\n\n"
        "First line of a paragraph\nwrapped onto a second line\n  and a third\n\n"
        "Short heading\n\nSOURCE: Agencies\n"
    )
    article = parse(text)
    assert article.body == [
        Block(
            kind="paragraph",
            text="First line of a paragraph wrapped onto a second line and a third",
        ),
        Block(kind="subheading", text="Short heading"),
    ]
    assert article.source == "Agencies"
    assert article.caption == "" and article.age == ""


def test_extra_blank_lines_between_blocks_and_at_the_end_are_tolerated() -> None:
    text = " date 2025-05-21\nT\nS\nC\nA\n\nOne.\n\n\n\nTwo.\n\n\nSOURCE:X\n\n\n"
    article = parse(text)
    assert [b.text for b in article.body] == ["One.", "Two."]
    assert article.section == ""
    assert render(article) == " date 2025-05-21\nT\nS\nC\nA\n\nOne.\n\nTwo.\n\nSOURCE:X\n"


def test_an_article_without_body_renders_and_reads_back() -> None:
    article = Article(date=dt.date(2025, 1, 2), title="Brief", source="AA")
    assert render(article) == " date 2025-01-02\nBrief\n\n\n\n\nSOURCE:AA\n"
    assert parse(render(article)) == article


def test_metadata_is_not_written_and_reads_back_unset() -> None:
    article = Article(
        date=dt.date(2025, 5, 21),
        title="Title",
        url="https://example.org/a",
        guid="g-1",
        feed="example",
        language="en",
        fetched_at=dt.datetime(2025, 5, 21, 8, tzinfo=dt.UTC),
    )
    text = render(article)
    assert "example" not in text and "g-1" not in text
    back = parse(text)
    assert (back.url, back.guid, back.feed, back.language, back.fetched_at) == (None,) * 5


def test_render_refuses_an_article_without_title() -> None:
    with pytest.raises(ValueError, match="needs a title"):
        render(Article(date=dt.date(2025, 5, 21), title=""))


def test_render_many_refuses_a_line_that_would_split_the_stream() -> None:
    article = Article(date=dt.date(2025, 5, 21), title="Odd", body=[Block(text="---")])
    with pytest.raises(ValueError, match="'---'"):
        render_many([article])


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Counter\u2011terrorism and border security", "subheading"),
        ("Regional developments on the agenda", "subheading"),
        ("Another pressing issue was the return of refugees.", "paragraph"),
        ("Is this the end?", "paragraph"),
        ("What comes next:", "paragraph"),
        ("“We are ready.”", "paragraph"),
        ("He said ‘no’.", "paragraph"),
        ("(Reporting by AA.)", "paragraph"),
        ("“Syria’s unity”", "subheading"),
        ("And then…", "paragraph"),
        ("x" * 100, "subheading"),
        ("x" * 101, "paragraph"),
    ],
)
def test_classify_block(text: str, kind: str) -> None:
    assert classify_block(text) == kind


def _seed_files() -> list[Path]:
    return sorted(SEEDS.glob("*.txt")) if SEEDS.is_dir() else []


@pytest.fixture
def seed_file() -> Path:
    files = _seed_files()
    if not files:
        pytest.skip(f"no seed article under {SEEDS}")
    return files[0]


def test_the_seed_article_reads_with_its_header_and_block_kinds(seed_file: Path) -> None:
    article = read_file(seed_file)
    assert article.date == dt.date(2025, 5, 20)
    assert article.section == "TÜRKİYE"
    assert article.title.startswith("Turkish intel chief Kalin")
    assert article.caption.endswith("(Photo: AA Archive) / AA")
    assert article.age == "18 hours ago"
    assert article.source == "TRT World and Agencies"
    subheadings = [b.text for b in article.body if b.kind == "subheading"]
    assert subheadings == [
        "Counter\u2011terrorism and border security",
        "Regional developments on the agenda",
    ]
    paragraphs = [b for b in article.body if b.kind == "paragraph"]
    assert len(paragraphs) == 11
    assert all(b.text.endswith((".", ".”")) for b in paragraphs)


def test_the_seed_article_re_renders_byte_identical(seed_file: Path) -> None:
    data = seed_file.read_bytes()
    assert render(read_file(seed_file)).encode("utf-8") == data


def test_the_seed_article_reads_the_same_with_crlf_and_bom(seed_file: Path, tmp_path: Path) -> None:
    variant = tmp_path / "seed-crlf-bom.txt"
    variant.write_bytes(b"\xef\xbb\xbf" + seed_file.read_bytes().replace(b"\n", b"\r\n"))
    assert read_file(variant) == read_file(seed_file)
    assert list(read_articles(variant)) == [read_file(seed_file)]
