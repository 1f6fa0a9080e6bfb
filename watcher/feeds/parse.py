"""Feed bytes → normalized Articles (DESIGN §3, issue 3 §2): the pure function a worker runs.

`parse_feed` takes the body and response headers of one fetch and returns a `ParsedFeed`, or
raises `FeedParseError("<feed>: what went wrong")` when the body is not a feed at all. RSS
0.9x/1.0/2.0 and Atom go through feedparser, JSON Feed through `jsonfeed`, Media RSS through
our own pass (`extensions`). One bad entry never stops the others: it is skipped or repaired and
named in `ParsedFeed.problems`.

XML safety (research/reliability.md §0.1, §0.2, §1.4): feedparser only ever sees an
`io.BytesIO` (a bytes argument would be tried as a file path), and before it does, every DTD
internal subset and `<!ENTITY` declaration is removed, so neither expat nor feedparser's loose
fallback parser can expand an entity or resolve an external one.
"""

from __future__ import annotations

import codecs
import datetime as dt
import email.utils
import functools
import io
import re
import time
import zoneinfo
from collections.abc import Container, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit
from xml.sax import SAXException, SAXParseException

import feedparser
import feedparser.api
from feedparser.encodings import convert_to_utf8
from pydantic import BaseModel, ConfigDict, Field

from watcher.article import Article, Block
from watcher.feeds.discovery import feed_links
from watcher.feeds.extensions import (
    MediaItem,
    body_placeholder,
    read_extensions,
    uses_content_module,
    uses_media_rss,
)
from watcher.feeds.html import html_captions, html_to_text, looks_like_html, to_blocks
from watcher.feeds.identity import EntryIdentity, IdentityRule, entry_keys, keys_by_guid_alone
from watcher.feeds.jsonfeed import JsonFeedError, JsonItem, is_json_body, read_json_feed
from watcher.matching import Match
from watcher.stories import StoryKeys

#: A date further ahead of the fetch than this is a publisher's mistake (most often local time
#: labelled UTC, or given no zone at all, hours ahead of the truth), not clock skew.
FUTURE_TOLERANCE = dt.timedelta(minutes=10)
#: Dates before this are CMS defaults (`0000-00-00`, the Unix epoch), not publication dates.
EARLIEST_YEAR = 1990
#: A title made up from the text of an entry that has none is cut at about this length.
FALLBACK_TITLE_LENGTH = 100

HTML_TYPES = frozenset({"text/html", "application/xhtml+xml", "html", "xhtml"})
MEDIA_CATEGORY_SCHEME = "http://search.yahoo.com/mrss/category_schema"


class FeedContext(BaseModel):
    """What the configuration says about a feed, for the fields its entries leave out."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1)
    url: str
    section: str = ""
    source: str = ""
    language: str | None = None
    identity: IdentityRule = "auto"
    #: The IANA zone of dates the feed writes without one (None: UTC).
    timezone: str | None = None


class ParsedEntry(BaseModel):
    """One entry: its key within the feed, the article, and where its date came from."""

    model_config = ConfigDict(frozen=True)

    key: str
    article: Article
    #: The date string as the feed wrote it (None when it had none).
    raw_date: str | None
    #: True when the date was missing, unreadable or in the future and the fetch time stands in.
    date_fallback: bool
    #: The rules' matches, when the parser worker matched the entry (`feeds.analysis`).
    matches: list[Match] | None = None
    #: What the store clusters stories by, when the parser worker worked it out.
    story_keys: StoryKeys | None = None


class ParsedFeed(BaseModel):
    """A parsed feed: its metadata, its entries, and what was wrong with it but not fatal."""

    model_config = ConfigDict(frozen=True)

    #: feedparser's version string (`rss20`, `atom10`, `rss10`, …) or `json1`/`json1.1`.
    format: str
    title: str
    link: str | None
    language: str | None
    #: RSS `<ttl>`: minutes the publisher asks readers to wait between polls.
    ttl: int | None
    entries: list[ParsedEntry]
    problems: list[str]
    #: Which rule set matched the entries in the worker (None: they were not matched there).
    rules_version: int | None = None
    #: Keys of entries the feed lists that were not normalized, because the caller said the
    #: store has seen them (`listed_before`); their guids alone gave these keys.
    seen_keys: list[str] = []


class FeedParseError(Exception):
    """The body is not a feed; the message is `<feed name or url>: what went wrong`."""


# ---------------------------------------------------------------------------------------------
# Dates


# Zone abbreviations email.utils does not know, in minutes east of UTC. Ambiguous ones (IST:
# India, Ireland or Israel) are left out and read as UTC.
ZONE_OFFSETS = {
    "WET": 0, "WEST": 60, "BST": 60, "CET": 60, "CEST": 120, "MET": 60, "MEST": 120,
    "MEZ": 60, "MESZ": 120, "EET": 120, "EEST": 180, "TRT": 180, "MSK": 180, "PKT": 300,
    "WIB": 420, "HKT": 480, "SGT": 480, "AWST": 480, "JST": 540, "KST": 540, "ACST": 570,
    "AEST": 600, "AEDT": 660, "NZST": 720, "NZDT": 780,
}  # fmt: skip

# Also `2025/12/1 09:05:00`, which feedparser misreads (as 1 November 2025).
_ISO_DATE = re.compile(
    r"(\d{4})(?P<sep>[-/])(\d{1,2})(?P=sep)(\d{1,2})"
    r"(?:[Tt ]+(\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?"
    r"\s*(Z|z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)?"
)
_ISO_START = re.compile(r"\d{4}[-/]\d")
_ZONE_NAME = re.compile(r"\(?([A-Za-z]{2,5})\)?$")


def _iso_date(match: re.Match[str], local: dt.tzinfo) -> dt.datetime | None:
    year, _, month, day, hour, minute, second, fraction, zone = match.groups()
    offset = dt.timedelta(0)
    if zone and zone[0] in "+-":
        digits = zone[1:].replace(":", "")
        offset = dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:] or 0))
        if zone[0] == "-":
            offset = -offset
    try:
        when = dt.datetime(
            int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0),
            int((fraction or "0")[:6].ljust(6, "0")), tzinfo=dt.timezone(offset),
        )  # fmt: skip
    except ValueError:
        return None
    return when if zone else _in_zone(when, local)


def _in_zone(when: dt.datetime, local: dt.tzinfo) -> dt.datetime:
    """A time written without a zone, read in `local`, as the fixed offset it had there."""
    if local is dt.UTC:
        return when.replace(tzinfo=dt.UTC)
    there = when.replace(tzinfo=local)
    offset = there.utcoffset() or dt.timedelta(0)
    return when.replace(tzinfo=dt.timezone(offset))


# Month names of RFC 822-like dates written in other languages (`Seg, 24 Set 2018`, `12 févr.
# 2024`, `3 Ekim 2023`): Portuguese, Spanish, French, German, Italian, Dutch and Turkish.
_MONTHS = {
    name: english
    for english, names in {
        "Jan": "janeiro enero ene janvier janv januar jän gennaio gen januari ocak oca",
        "Feb": "fevereiro fev febrero février févr fév februar febbraio februari şubat şub",
        "Mar": "março marzo mars märz mär mrz maart mart",
        "Apr": "abril abr avril avr aprile nisan nis",
        "May": "maio mai mayo maggio mag mei mayıs",
        "Jun": "junho junio juin juni giugno giu haziran haz",
        "Jul": "julho julio juillet juil juli luglio lug temmuz tem",
        "Aug": "agosto ago août augustus ağustos ağu",
        "Sep": "setembro set septiembre septembre sept settembre eylül eyl",
        "Oct": "outubro out octubre octobre oktober okt ottobre ott ekim eki",
        "Nov": "novembro noviembre novembre november kasım kas",
        "Dec": "dezembro dez diciembre dic décembre déc dezember dicembre december aralık ara",
    }.items()
    for name in names.split()
}
_WORD = re.compile(r"[^\W\d_]+\.?")
_DATE_ONLY = re.compile(r"(?:[^\W\d_]+\.?,?\s+)?\d{1,2}\s+[^\W\d_]+\.?\s+\d{2,4}")


def _english_months(raw: str) -> str:
    return _WORD.sub(lambda m: _MONTHS.get(m.group().rstrip(".").lower(), m.group()), raw)


def _rfc822_date(raw: str, fallback: dt.datetime | None, local: dt.tzinfo) -> dt.datetime | None:
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (ValueError, TypeError, IndexError):
        english = _english_months(raw)
        if english != raw:
            return _rfc822_date(english, fallback, local)
        if _DATE_ONLY.fullmatch(raw):
            # `3 Oct 2023`: Python's reader wants a time; the day starts in the feed's zone.
            return _rfc822_date(f"{raw} 00:00:00", fallback, local)
        # Parsed again only on failure, to tell impossible values (None) from another shape.
        return None if email.utils.parsedate_tz(raw) is not None else fallback
    if when.tzinfo is None:
        zone = _ZONE_NAME.search(raw)
        minutes = ZONE_OFFSETS.get(zone.group(1).upper()) if zone else None
        if minutes is None:
            return _in_zone(when, local)
        when = when.replace(tzinfo=dt.timezone(dt.timedelta(minutes=minutes)))
    return when


def parse_date(
    raw: str, fallback: dt.datetime | None = None, local: dt.tzinfo = dt.UTC
) -> dt.datetime | None:
    """The instant a feed's date string names, in the publisher's own UTC offset.

    RFC 822 (`Wed, 01 May 2024 10:00:00 +0200`, also with a zone abbreviation or none) and
    ISO 8601/RFC 3339 (`2024-05-01T10:00:00+02:00`, `2018-09-18 14:38:10`, `2016/6/29 15:07`)
    are read here; a missing zone means `local` (UTC unless the feed's config names one). A
    string of either shape with impossible values (`2024-13-45`) gives None rather than a
    rolled-over date. `fallback` — the instant another parser found (feedparser's `*_parsed`,
    already in UTC) — is used only for strings of neither shape.
    """
    text = raw.strip()
    iso = _ISO_DATE.fullmatch(text)
    if iso:
        return _iso_date(iso, local)
    if _ISO_START.match(text):
        return None
    return _rfc822_date(text, fallback, local)


def render_age(published: dt.datetime, now: dt.datetime) -> str:
    """How long before `now` the article was published, as a reader says it: `18 hours ago`.

    Under a minute (or a date ahead of `now`) is `just now`; then minutes, hours, days up to
    30, months of 30 days up to a year, and years. Naive datetimes count as UTC.
    """
    seconds = (_as_utc(now) - _as_utc(published)).total_seconds()
    if seconds < 60:
        return "just now"
    minutes = int(seconds // 60)
    if minutes < 60:
        count, unit = minutes, "minute"
    elif minutes < 24 * 60:
        count, unit = minutes // 60, "hour"
    elif minutes < 30 * 24 * 60:
        count, unit = minutes // (24 * 60), "day"
    elif minutes < 365 * 24 * 60:
        count, unit = minutes // (30 * 24 * 60), "month"
    else:
        count, unit = minutes // (365 * 24 * 60), "year"
    return f"{count} {unit}{'' if count == 1 else 's'} ago"


def _as_utc(when: dt.datetime) -> dt.datetime:
    if when.tzinfo is None:
        return when.replace(tzinfo=dt.UTC)
    return when.astimezone(dt.UTC)


@dataclass(frozen=True, slots=True)
class _DateChoice:
    when: dt.datetime | None
    raw: str | None
    problem: str | None


@functools.cache
def _zone(name: str | None) -> dt.tzinfo:
    return zoneinfo.ZoneInfo(name) if name else dt.UTC


def _choose_date(
    candidates: Sequence[tuple[str | None, dt.datetime | None]],
    fetched_at: dt.datetime,
    local: dt.tzinfo = dt.UTC,
) -> _DateChoice:
    """The first usable date among (raw, fallback) candidates: published, then updated."""
    first_raw: str | None = None
    problem: str | None = None
    for raw, fallback in candidates:
        if not raw or not raw.strip():
            continue
        first_raw = first_raw or raw
        when = parse_date(raw, fallback, local)
        if when is None or when.year < EARLIEST_YEAR:
            problem = problem or f"date {raw!r} not understood; using the fetch time"
        elif when - fetched_at > FUTURE_TOLERANCE:
            problem = problem or f"date {raw!r} is in the future; using the fetch time"
        else:
            return _DateChoice(when, raw, None)
    return _DateChoice(None, first_raw, problem)


# ---------------------------------------------------------------------------------------------
# The neutral shape both readers (XML, JSON) produce, and its normalization into an Article


@dataclass(frozen=True, slots=True)
class _Text:
    value: str
    is_html: bool


@dataclass(slots=True)
class _Entry:
    """What one entry says, before normalization; every field as the feed gave it.

    `number` is the entry's position in the feed, counted from 1, for problem messages.
    """

    number: int
    title: str
    description: _Text | None
    content: _Text | None
    caption: str = ""
    categories: list[str] = field(default_factory=list)
    attribution: str = ""
    author: str = ""
    link: str | None = None
    link_is_guid: bool = False
    guid: str | None = None
    dates: list[tuple[str | None, dt.datetime | None]] = field(default_factory=list)
    language: str | None = None


@dataclass(frozen=True, slots=True)
class _FeedFacts:
    context: FeedContext
    title: str
    language: str | None
    base_url: str
    fetched_at: dt.datetime

    @property
    def local(self) -> dt.tzinfo:
        """Where the feed's dates without a zone were written."""
        return _zone(self.context.timezone)


class _SkippedEntry(Exception):
    """An entry with nothing to show; the message says why."""


_EMAIL_WITH_NAME = re.compile(r"^\s*\S+@\S+\s*\((.+)\)\s*$")
_BARE_EMAIL = re.compile(r"^\s*\S+@\S+\.\S+\s*$")
_SENTENCE_END = re.compile(r"[.!?](?=\s)")


def _person(value: str) -> str:
    """A name from an author field: RSS writes `email (Name)`; a bare address is no name."""
    named = _EMAIL_WITH_NAME.match(value)
    if named:
        return named.group(1).strip()
    return "" if _BARE_EMAIL.match(value) else html_to_text(value)


def _language(value: str | None) -> str | None:
    if not value or not value.strip():
        return None
    return value.strip().replace("_", "-").lower()


def _first_paragraph(blocks: Sequence[Block]) -> str:
    return next((b.text for b in blocks if b.kind == "paragraph"), blocks[0].text if blocks else "")


def _title_from_text(text: str) -> str:
    end = _SENTENCE_END.search(text)
    if end and end.start() < FALLBACK_TITLE_LENGTH:
        return text[: end.start() + 1]
    if len(text) <= FALLBACK_TITLE_LENGTH:
        return text
    return text[:FALLBACK_TITLE_LENGTH].rsplit(" ", 1)[0] + "…"


def _absolute_url(entry: _Entry, base_url: str) -> str | None:
    """The entry's link as an absolute http(s) URL, or None when it has none.

    feedparser copies a permalink guid into `link` when the item has no `<link>`, even when
    the guid is no URL at all (`x4`); such a value is only taken when it is already absolute.
    """
    link = (entry.link or "").strip()
    if not link:
        return None
    if not entry.link_is_guid:
        link = urljoin(base_url, link)
    try:
        parts = urlsplit(link)
    except ValueError:
        return None
    return link if parts.scheme in ("http", "https") and parts.netloc else None


def _inline_caption(entry: _Entry) -> str:
    """The first `<figcaption>` of the body (else the description), for an entry without a
    Media RSS caption."""
    for text in (entry.content, entry.description):
        if text is not None and (text.is_html or looks_like_html(text.value)):
            captions = html_captions(text.value)
            if captions:
                return captions[0]
    return ""


_BARE_URL = re.compile(r"(?:https?://|www\.)\S*", re.I)


# A body's last paragraph that only credits its picture, as NPR writes it: the caption's credit.
_IMAGE_CREDIT = re.compile(r"\(((?:image|photo|picture) credit: .+)\)", re.I)


def _article(entry: _Entry, facts: _FeedFacts) -> tuple[Article, _DateChoice]:
    described = entry.description
    description_blocks = to_blocks(described.value, is_html=described.is_html) if described else []
    body = to_blocks(entry.content.value, is_html=entry.content.is_html) if entry.content else []
    body = body or description_blocks
    credit = _IMAGE_CREDIT.fullmatch(body[-1].text) if body else None
    if credit:
        body = body[:-1]
    summary = _first_paragraph(description_blocks)
    title = entry.title or _title_from_text(summary or _first_paragraph(body))
    if not title:
        raise _SkippedEntry("no title and no text; skipped")

    fetched_at = facts.fetched_at
    choice = _choose_date(entry.dates, fetched_at, facts.local)
    published = choice.when or fetched_at
    section = next(
        (text for text in (html_to_text(c) for c in entry.categories) if text),
        facts.context.section,
    )
    attribution = html_to_text(entry.attribution)
    if _BARE_URL.fullmatch(attribution):  # `dc:source` naming a site, not an agency
        attribution = ""
    source = attribution or _person(entry.author) or facts.context.source or facts.title
    article = Article(
        date=published.date(),
        section=section.upper(),
        title=title,
        summary=summary,
        caption=entry.caption or _inline_caption(entry) or (credit.group(1) if credit else ""),
        age=render_age(published, fetched_at) if choice.when else "",
        body=body,
        source=source,
        url=_absolute_url(entry, facts.base_url),
        guid=(entry.guid or "").strip() or None,
        feed=facts.context.name,
        language=_language(entry.language) or facts.language,
        fetched_at=fetched_at,
        published_at=published.astimezone(dt.UTC),
    )
    return article, choice


def _normalize(
    entries: Sequence[_Entry],
    facts: _FeedFacts,
    problems: list[str],
    listed_before: Container[str],
) -> tuple[list[ParsedEntry], list[str]]:
    """The entries as articles with their keys, and the keys of the entries left out because
    their guids alone give keys in `listed_before` (seen: nothing would use their articles)."""
    built: list[tuple[Article, _DateChoice, _Entry]] = []
    seen: list[str] = []
    guid_keys = (
        keys_by_guid_alone([entry.guid for entry in entries], by=facts.context.identity)
        if listed_before
        else [None] * len(entries)
    )
    for entry, guid_key in zip(entries, guid_keys, strict=True):
        if guid_key is not None and guid_key in listed_before:
            seen.append(guid_key)
            continue
        try:
            article, choice = _article(entry, facts)
        except (_SkippedEntry, ValueError) as error:
            # ValueError covers pydantic's ValidationError: a field no Article can hold.
            problems.append(f"entry {entry.number}: {error}")
            continue
        if not entry.title:
            problems.append(f"entry {entry.number}: no title; used the start of its text")
        if choice.problem:
            problems.append(f"entry {entry.number}: {choice.problem}")
        built.append((article, choice, entry))
    keys = entry_keys(
        [
            EntryIdentity(guid=a.guid, link=a.url or e.link, title=a.title, summary=a.summary)
            for a, _, e in built
        ],
        by=facts.context.identity,
    )
    parsed = [
        ParsedEntry(key=key, article=a, raw_date=c.raw, date_fallback=c.when is None)
        for key, (a, c, _) in zip(keys, built, strict=True)
    ]
    return parsed, seen


# ---------------------------------------------------------------------------------------------
# XML: the entity guard, feedparser, and the Media RSS merge


_DOCTYPE_HEAD = re.compile(rb"(?:\"[^\"]*\"|'[^']*'|[^\"'\[>])*")
_SUBSET_TOKEN = re.compile(rb"\"[^\"]*\"|'[^']*'|<!--.*?-->|\]|[^\"'\]<]+|<", re.S)
_SUBSET_END = re.compile(rb"\s*>")
_ROOT_NAME = re.compile(rb"\s*([^\s\[>\"']+)")
_PROLOG_SKIP = re.compile(rb"\s+|<\?.*?\?>|<!--.*?-->", re.S)
_FIRST_ELEMENT = re.compile(rb"<\w")
# `>` is optional: feedparser's idea of the prolog may end inside a declaration.
_ENTITY_DECLARATION = re.compile(rb"<!ENTITY(?:[^>\"']|\"[^\"]*\"|'[^']*')*>?", re.I)
# feedparser recognises RSS 0.91 (Netscape) by its DOCTYPE; that one is kept, as a constant.
_NETSCAPE_DOCTYPE = (
    b'<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN" '
    b'"http://my.netscape.com/publish/formats/rss-0.91.dtd">'
)


def _rewrite_doctype(document: bytes, start: int) -> tuple[bytes, int]:
    """The replacement for the DOCTYPE at `start`, and where the original ends."""
    position = start + len(b"<!DOCTYPE")
    head = _DOCTYPE_HEAD.match(document, position)
    assert head is not None  # the pattern matches the empty string
    position = head.end()
    if document.startswith(b"[", position):
        position += 1
        while (token := _SUBSET_TOKEN.match(document, position)) and token.group() != b"]":
            position = token.end()
        if token is None:
            # An internal subset that never closes swallows the rest of the document.
            return b"", len(document)
        closing = _SUBSET_END.match(document, token.end())
        position = closing.end() if closing else token.end()
    else:
        end = document.find(b">", position)
        position = end + 1 if end >= 0 else len(document)
    if b"netscape" in head.group().lower():
        return _NETSCAPE_DOCTYPE, position
    root = _ROOT_NAME.match(head.group())
    return b"<!DOCTYPE " + (root.group(1) if root else b"feed") + b">", position


def strip_entity_declarations(document: bytes) -> bytes:
    """The document without a DTD internal subset or any `<!ENTITY` declaration in its prolog.

    The prolog is walked the way expat walks it (whitespace, processing instructions, comments,
    DOCTYPE); a DOCTYPE is reduced to its root name, so no entity can be declared, expanded or
    fetched (billion laughs, quadratic blowup, XXE). Declarations are then also removed from
    what feedparser takes for the prolog (everything before the first `<` + letter), which its
    lenient parser would otherwise expand. References to undeclared entities stay as text.
    """
    pieces: list[bytes] = []
    position = 0
    while position < len(document):
        skip = _PROLOG_SKIP.match(document, position)
        if skip:
            pieces.append(skip.group())
            position = skip.end()
        elif document[position : position + 9].upper() == b"<!DOCTYPE":
            replacement, position = _rewrite_doctype(document, position)
            pieces.append(replacement)
        elif document[position : position + 8].upper() == b"<!ENTITY":
            declaration = _ENTITY_DECLARATION.match(document, position)
            position = declaration.end() if declaration else len(document)
        else:
            break
    document = b"".join(pieces) + document[position:]
    first_element = _FIRST_ELEMENT.search(document)
    prolog_end = first_element.start() if first_element else len(document)
    if b"<!ENTITY" not in document[:prolog_end].upper():
        return document
    return _ENTITY_DECLARATION.sub(b"", document[:prolog_end]) + document[prolog_end:]


def _prepare_xml(body: bytes, headers: Mapping[str, str]) -> tuple[bytes, dict[str, Any]]:
    """UTF-8 bytes with the entity guard applied, and feedparser's verdict on the encoding.

    feedparser's own encoding detection (RFC 3023: Content-Type charset, BOM, XML declaration)
    decides the encoding, so it still sees the real Content-Type; only then is the guard safe
    to apply, whatever the original encoding (UTF-16 included).
    """
    stripped = body.lstrip(b" \t\r\n")
    if stripped.startswith(b"<"):
        # Whitespace before the XML declaration makes expat give up on the whole document.
        body = stripped
    verdict: dict[str, Any] = {}
    document = convert_to_utf8(dict(headers), body, verdict)
    return strip_entity_declarations(document), verdict


def _describe(error: BaseException) -> str:
    if isinstance(error, SAXParseException):
        return (
            f"not well-formed XML at line {error.getLineNumber()}, "
            f"column {error.getColumnNumber()}: {error.getMessage()}"
        )
    return f"{type(error).__name__}: {error}"


def _text_key(value: str) -> str:
    return html_to_text(value).casefold()


def _detail(detail: Mapping[str, Any] | None) -> _Text | None:
    if not detail or not str(detail.get("value", "")).strip():
        return None
    return _Text(str(detail["value"]), str(detail.get("type", "")).lower() in HTML_TYPES)


def _pair_media(entries: Sequence[Any], items: Sequence[MediaItem]) -> list[MediaItem | None]:
    """The media item of each feedparser entry: by guid, then link, then title, then position
    (only when both passes saw the same number of items)."""
    lookups: list[tuple[str, dict[str, MediaItem | None]]] = []
    for attribute, entry_field in (("guid", "id"), ("link", "link"), ("title", "title")):
        table: dict[str, MediaItem | None] = {}
        for item in items:
            value = getattr(item, attribute)
            if value:
                key = _text_key(value) if attribute == "title" else value.strip()
                # A value shared by two items identifies neither.
                table[key] = None if key in table else item
        lookups.append((entry_field, table))
    same_count = len(entries) == len(items)
    paired: list[MediaItem | None] = []
    for index, entry in enumerate(entries):
        match: MediaItem | None = None
        for entry_field, table in lookups:
            value = entry.get(entry_field)
            if value:
                key = _text_key(value) if entry_field == "title" else value.strip()
                match = table.get(key)
                if match:
                    break
        paired.append(match or (items[index] if same_count else None))
    return paired


def _text_fields(
    entry: Any, media: MediaItem | None, bodies: Mapping[str, str]
) -> tuple[_Text | None, _Text | None]:
    """The entry's real description and body, with misfiled Media RSS captions set aside.

    feedparser puts `media:description` in `summary` or `content` depending on element order,
    and copies the body into `summary` when there is no description. Our own pass knows which
    text the item's `<description>` held, so that one is the description; a content value
    equal to a caption is not the body. Texts are compared as plain text, case-folded.
    `bodies`: the `content:encoded` texts our own pass read, by the placeholder feedparser
    read instead.
    """
    summary = _detail(entry.get("summary_detail"))
    contents = [text for text in map(_detail, entry.get("content", [])) if text]
    if not contents and not bodies:
        contents = _full_text(entry)
    if bodies:
        # The item's `content:encoded` is its body, before anything feedparser filed as
        # content (a second summary-like element before it, say).
        ours = [_Text(bodies[text.value], True) for text in contents if text.value in bodies]
        others = [text for text in contents if text.value not in bodies]
        contents = [text for text in ours if text.value] + others
    if media is None:
        if bodies:
            # feedparser read placeholders where the bodies were, so only a placeholder can be
            # its copy; a summary equal to a body is the item's own `<description>`.
            is_copy = summary is not None and summary.value in bodies
        else:
            is_copy = summary is not None and any(c.value == summary.value for c in contents)
        return (None if is_copy else summary), (contents[0] if contents else None)
    set_aside = {_text_key(caption) for caption in media.media_descriptions}
    description: _Text | None = None
    if media.description is not None and media.description.strip():
        wanted = _text_key(media.description)
        set_aside.add(wanted)
        description = next(
            (text for text in (summary, *contents) if text and _text_key(text.value) == wanted),
            None,
        )
        if description is None:
            # Our pass reads markup inside the element as bare text; feedparser's summary is
            # then the better copy, unless it is a caption.
            keep = summary is not None and _text_key(summary.value) not in set_aside
            own = _Text(media.description, looks_like_html(media.description))
            description = summary if keep else own
    body = next((c for c in contents if _text_key(c.value) not in set_aside), None)
    return description, body


# Where feeds for Yandex News and ukr.net put the whole article (the description is a teaser):
# `yandex:full-text`, or a bare `full-text`, as feedparser names them.
FULL_TEXT_ELEMENTS = ("yandex_full-text", "full-text")


def _full_text(entry: Any) -> list[_Text]:
    for name in FULL_TEXT_ELEMENTS:
        value = dict.get(entry, name)
        if isinstance(value, str) and value.strip():
            return [_Text(value, looks_like_html(value))]
    return []


def _title(entry: Any, media: MediaItem | None) -> str:
    """The entry title; a `media:title` feedparser mistook for it does not count."""
    title = str(entry.get("title", ""))
    if media and media.media_titles:
        media_titles = {_text_key(value) for value in media.media_titles}
        if _text_key(title) in media_titles:
            own = media.title or ""
            title = own if _text_key(own) not in media_titles else title
    return html_to_text(title)


def _struct_to_datetime(value: time.struct_time | None) -> dt.datetime | None:
    if value is None:
        return None
    try:
        return dt.datetime(*value[:6], tzinfo=dt.UTC)
    except (ValueError, TypeError):
        return None


def _from_feedparser(
    number: int, entry: Any, media: MediaItem | None, bodies: Mapping[str, str]
) -> _Entry:
    description, content = _text_fields(entry, media, bodies)
    media_categories = set(media.media_categories) if media else set()
    categories = [
        str(tag.get("term") or tag.get("label") or "")
        for tag in entry.get("tags", [])
        if tag.get("scheme") != MEDIA_CATEGORY_SCHEME
        and (tag.get("term") or "").strip() not in media_categories
    ]
    author_detail = entry.get("author_detail") or {}
    source = entry.get("source") or {}
    return _Entry(
        number=number,
        title=_title(entry, media),
        description=description,
        content=content,
        caption=media.caption if media else "",
        categories=categories,
        attribution=str(entry.get("dc_source") or source.get("title") or ""),
        author=str(author_detail.get("name") or entry.get("author") or ""),
        link=entry.get("link"),
        link_is_guid=bool(entry.get("guidislink")) and entry.get("link") == entry.get("id"),
        guid=entry.get("id"),
        # dict.get: FeedParserDict.get("published") answers with `updated` (and a warning).
        dates=[
            (dict.get(entry, name), _struct_to_datetime(dict.get(entry, f"{name}_parsed")))
            for name in ("published", "updated", "created")
        ],
        language=entry.get("language") or (entry.get("title_detail") or {}).get("language"),
    )


_HTML_PAGE = re.compile(rb"<html[\s>]|<!doctype\s+html|<head[\s>]|<body[\s>]", re.I)


_ROOT_END = re.compile(rb"</(?:[\w.-]+:)?(?:rss|feed|RDF)\s*>")
_ENTRY_END = re.compile(rb"</(?:[\w.-]+:)?(?:channel|item|entry)\s*>\s*\Z")


def _breaks_off_inside_an_entry(document: bytes) -> bool:
    """Whether the document stops before its root element's end (not merely followed by junk,
    such as a PHP warning), and not right after an entry's end (where the last one is whole)."""
    if _ROOT_END.search(document):
        return False
    return not _ENTRY_END.search(document[-256:].rstrip(b"\x00"))


def _not_a_feed(body: bytes, content_type: str, error: BaseException | None, page_url: str) -> str:
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type in ("text/html", "application/xhtml+xml") or _HTML_PAGE.search(body[:4096]):
        links = feed_links(body, page_url)
        named = f" (the page names its feeds: {', '.join(links)})" if links else ""
        return f"an HTML page, not a feed{named}"
    reason = _describe(error) if error else "no RSS, RDF or Atom root element"
    return f"not a feed ({reason})"


# feedparser asks for libxml2's SAX driver first, where its Python bindings are installed: its
# handling of entities and external references is not the one our attack tests measure (expat's;
# research/reliability.md §1.4). Pinned to Python's own expat driver.
feedparser.api.PREFERRED_XML_PARSERS = ["xml.sax.expatreader"]


def _feedparser(document: bytes, headers: dict[str, str]) -> Any:
    return feedparser.parse(
        io.BytesIO(document),
        response_headers=headers,
        # We only ever extract text: sanitizing and URI resolution would halve the speed
        # (research/reliability.md §1.5) for nothing.
        sanitize_html=False,
        resolve_relative_uris=False,
    )


def _xml_feed(
    body: bytes,
    headers: Mapping[str, str],
    context: FeedContext,
    fetched_at: dt.datetime,
    listed_before: Container[str],
) -> ParsedFeed:
    document, verdict = _prepare_xml(body, headers)
    media_rss = uses_media_rss(document)
    # Items listed before can be cut out only where guids can be keys.
    cut_seen = bool(listed_before) and context.identity in ("auto", "guid")
    own_pass = (
        read_extensions(document, listed_before, context.identity)
        if media_rss or uses_content_module(document) or cut_seen
        else None
    )
    # The body is UTF-8 now and its declaration says so; the Content-Type has done its job in
    # `_prepare_xml`, and Content-Location is left out so that guids and links stay exactly
    # as the feed wrote them (feedparser would resolve a guid against it).
    parse_headers = {k: v for k, v in headers.items() if k != "content-location"}
    parse_headers["content-type"] = "application/xml; charset=utf-8"
    # Without the elements our own pass has read, when it could cut them out.
    stripped = own_pass.stripped if own_pass else None
    parsed = _feedparser(stripped if stripped is not None else document, parse_headers)
    entries = parsed.get("entries", [])
    bodies = {
        body_placeholder(number): text
        for number, text in enumerate(own_pass.bodies if own_pass else ())
    }
    syntax_error = parsed.get("bozo_exception") if parsed.get("bozo") else None
    encoding_error = verdict.get("bozo_exception")
    content_type = headers.get("content-type", "")
    label = context.name
    if not entries and (not parsed.get("version") or isinstance(syntax_error, SAXException)):
        if parsed.get("version"):
            raise FeedParseError(
                f"{label}: a broken feed with no readable entries ({_describe(syntax_error)})"
            )
        page_url = headers.get("content-location") or context.url
        raise FeedParseError(f"{label}: {_not_a_feed(body, content_type, syntax_error, page_url)}")

    problems: list[str] = []
    if encoding_error is not None:
        problem = _encoding_problem(body, content_type, encoding_error, verdict.get("encoding"))
        if problem:
            problems.append(f"feed: {problem}")
    if syntax_error is not None:
        problems.append(f"feed: {_describe(syntax_error)}; read with the lenient parser")
        if entries and _breaks_off_inside_an_entry(document):
            # Its guid or end may be missing: read now, it would come back under another key
            # once the feed is whole, a second time.
            title = html_to_text(str(entries[-1].get("title", ""))) or "untitled"
            entries = entries[:-1]
            problems.append(
                f"feed: the document breaks off inside its last entry ({title!r}); it is read "
                "when the feed sends it whole"
            )
    channel = parsed.get("feed", {})
    facts = _FeedFacts(
        context=context,
        title=html_to_text(str(channel.get("title", ""))),
        language=_language(channel.get("language")) or _language(context.language),
        base_url=headers.get("content-location") or context.url,
        fetched_at=fetched_at,
    )
    media_items = own_pass.items if own_pass and media_rss else []
    paired = _pair_media(entries, media_items) if media_items else [None] * len(entries)
    numbers: Sequence[int] = range(1, len(entries) + 1)
    if own_pass and own_pass.seen_keys and len(own_pass.numbers) == len(entries):
        numbers = own_pass.numbers  # positions in the feed, counting the items cut out
    neutral = [
        _from_feedparser(number, entry, media, bodies)
        for number, entry, media in zip(numbers, entries, paired, strict=True)
    ]
    entries, seen_keys = _normalize(neutral, facts, problems, listed_before)
    if own_pass:
        seen_keys = [*own_pass.seen_keys, *seen_keys]
    ttl = str(channel.get("ttl", "")).strip()
    if ttl and not ttl.isdigit():
        problems.append(f"feed: <ttl> {ttl!r} is not a number of minutes; ignored")
    return ParsedFeed(
        format=str(parsed.get("version") or "unknown"),
        title=facts.title,
        link=channel.get("link") or None,
        language=facts.language,
        ttl=int(ttl) if ttl.isdigit() else None,
        entries=entries,
        problems=problems,
        seen_keys=seen_keys,
    )


# ---------------------------------------------------------------------------------------------
# JSON Feed


def _from_json(item: JsonItem) -> _Entry:
    content = None
    if item.content_html:
        content = _Text(item.content_html, True)
    elif item.content_text:
        content = _Text(item.content_text, False)
    return _Entry(
        number=item.number,
        title=html_to_text(item.title or ""),
        description=_Text(item.summary, False) if item.summary else None,
        content=content,
        categories=list(item.tags),
        author=", ".join(item.authors),
        link=item.url,
        guid=item.id,
        dates=[(item.date_published, None), (item.date_modified, None)],
        language=item.language,
    )


_XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*\bencoding\s*=\s*["']([A-Za-z0-9._:-]+)""", re.I)
_BOMS = {codecs.BOM_UTF8: "utf-8", codecs.BOM_UTF16_LE: "utf-16", codecs.BOM_UTF16_BE: "utf-16"}


def _declared_encoding(body: bytes, content_type: str) -> str | None:
    """The encoding the document declares, in RFC 7303's order: the Content-Type's charset,
    a byte order mark, the XML declaration."""
    bom = next((name for mark, name in _BOMS.items() if body.startswith(mark)), None)
    match = _XML_ENCODING.match(body[:256])
    xml = match.group(1).decode("ascii") if match else None
    return _charset(content_type) or bom or xml


# Encodings feedparser reads as their supersets, as browsers do: not an override.
_SUPERSETS = {
    "ascii": "utf-8", "iso8859-1": "cp1252", "gb2312": "gb18030", "gbk": "gb18030",
    "euc_kr": "cp949", "shift_jis": "cp932",
}  # fmt: skip


def _same_encoding(declared: str, read_as: str) -> bool:
    try:
        name, read = codecs.lookup(declared).name, codecs.lookup(read_as).name
    except LookupError:
        return False
    return read in (name, _SUPERSETS.get(name))


def _encoding_problem(
    body: bytes, content_type: str, error: BaseException, read_as: str | None
) -> str | None:
    """What to say about feedparser's encoding override, when anything. feedparser compares
    with RFC 3023's defaults (us-ascii for `text/xml` without a charset, even when the XML
    declaration says UTF-8), which RFC 7303 has dropped: a document read as it declares itself
    is right, and one that declares nothing and is not UTF-8 is named as such rather than as a
    declaration it never made."""
    declared = _declared_encoding(body, content_type)
    if declared is None:
        if read_as is None or _same_encoding("utf-8", read_as):
            return None
        return f"the document declares no encoding and is not UTF-8; read as {read_as}"
    if read_as is not None and _same_encoding(declared, read_as):
        return None
    return _describe(error)


def _charset(content_type: str) -> str | None:
    match = re.search(r"charset\s*=\s*\"?([\w.:-]+)", content_type, re.I)
    return match.group(1) if match else None


def _json_feed(
    body: bytes,
    headers: Mapping[str, str],
    context: FeedContext,
    fetched_at: dt.datetime,
    listed_before: Container[str],
) -> ParsedFeed:
    try:
        document = read_json_feed(body, _charset(headers.get("content-type", "")))
    except JsonFeedError as error:
        raise FeedParseError(f"{context.name}: {error}") from None
    facts = _FeedFacts(
        context=context,
        title=html_to_text(document.title),
        language=_language(document.language) or _language(context.language),
        base_url=headers.get("content-location") or context.url,
        fetched_at=fetched_at,
    )
    problems = list(document.problems)
    entries, seen_keys = _normalize(
        [_from_json(item) for item in document.items], facts, problems, listed_before
    )
    return ParsedFeed(
        format=f"json{document.version}",
        title=facts.title,
        link=document.home_page_url,
        language=facts.language,
        ttl=None,
        entries=entries,
        problems=problems,
        seen_keys=seen_keys,
    )


# ---------------------------------------------------------------------------------------------
# Entry point


_UTF16_32_STARTS = (
    codecs.BOM_UTF32_BE,
    codecs.BOM_UTF16_LE,
    codecs.BOM_UTF16_BE,
    b"<\x00",
    b"\x00<",
)


def _binary_kind(body: bytes) -> str | None:
    """What a binary body is, when it is one: compressed data or other non-text bytes."""
    if body.startswith(b"\x1f\x8b"):
        return "gzip-compressed data"
    head = body[:1024]
    if b"\x00" in head and not head.startswith(_UTF16_32_STARTS) and b"\x00\x00\x00<" not in head:
        return "binary data"
    return None


def parse_feed(
    body: bytes,
    headers: Mapping[str, str],
    *,
    feed: FeedContext,
    fetched_at: dt.datetime,
    listed_before: Container[str] = frozenset(),
) -> ParsedFeed:
    """Parse one fetched feed into normalized articles (pure: no I/O, safe in a worker).

    `listed_before`: keys of entries the store has seen. An entry whose guid alone gives one
    of them is not normalized; its key goes to `seen_keys` instead of an article to `entries`.

    `headers` are the response headers (any case); the Content-Type charset decides the
    encoding as RFC 3023 says. Raises FeedParseError when the body is empty, binary, an HTML
    page, JSON that is not a JSON Feed, or XML that yields no feed; a feed with zero entries is
    a ParsedFeed with no entries.
    """
    fetched_at = _as_utc(fetched_at)
    lowered = {str(name).lower(): str(value) for name, value in headers.items()}
    if not body.strip():
        raise FeedParseError(f"{feed.name}: the body is empty, not a feed")
    binary = _binary_kind(body)
    if binary:
        raise FeedParseError(f"{feed.name}: the body is {binary}, not a feed")
    if is_json_body(body, lowered.get("content-type", "")):
        return _json_feed(body, lowered, feed, fetched_at, listed_before)
    return _xml_feed(body, lowered, feed, fetched_at, listed_before)
