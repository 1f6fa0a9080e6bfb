"""Our own pass over a feed's extension elements: Media RSS, so that image captions and credits
are never lost or misfiled (research/reliability.md §1.8), and the content module's
`content:encoded`, the body, which costs feedparser the most.

feedparser routes `media:description` through its generic `<description>` handler, so the
caption lands in `summary` or `content` depending on element order, and `media:title` can
replace the entry title. This pass reads, per item, the Media RSS elements (`media:content`,
`media:group`, `media:thumbnail`, `media:description`, `media:title`, `media:credit`,
`media:category`) together with the item's own guid, link, title and description, so that the
caller can compose the caption and tell which of feedparser's fields are really captions.

It runs on the document after the entity guard (no DTD internal subset is left) and tolerates
what real feeds do: raw `&`, HTML entities XML does not know, control characters, undeclared
`media:` prefixes and documents cut short (items read before the error are kept).

When the document is well-formed as it is, the pass also returns it without its items' Media
RSS elements, for feedparser: they are all read here, feedparser would only misfile them, and
they are about a third of the elements of a typical news item, each costing feedparser far more
than the expat pass costs (tens of microseconds of Python per element). An item's
`content:encoded` (its body, the largest element by far: about a third of feedparser's time on
a news feed) is read here too, as feedparser would have read it, and feedparser gets a
placeholder in its place (`body_placeholder(n)` for the document's n-th one): the element is
still there for feedparser's rules that depend on it (an item with a body files a later
`<description>` differently), and `content` keeps its order. Only the plain form is taken
(no attributes, no child elements, the `content` prefix bound to the module's namespace); any
other is left to feedparser.

Given the keys of entries the store has seen, the pass also cuts out whole the items whose
guids alone give one of those keys (a plain unprefixed `<guid>` or `<id>` feedparser reads the
same way): when a feed changed because it gained one entry, feedparser reads that one only.
"""

from __future__ import annotations

import contextlib
import html.entities
import re
from collections.abc import Callable, Container
from dataclasses import dataclass, field
from xml.parsers import expat

from watcher.feeds.html import BREAKING, SUBHEADINGS, html_to_text, looks_like_html
from watcher.feeds.identity import IdentityRule, keys_by_guid_alone

# The canonical namespace has a trailing slash; feeds also use it without, and with https.
MEDIA_NAMESPACES = frozenset(
    {
        "http://search.yahoo.com/mrss/",
        "http://search.yahoo.com/mrss",
        "https://search.yahoo.com/mrss/",
        "https://search.yahoo.com/mrss",
    }
)
_MEDIA_PREFIX = "media"
CONTENT_NAMESPACE = "http://purl.org/rss/1.0/modules/content/"
_ENCODED = "content:encoded"
_ITEM_NAMES = frozenset({"item", "entry"})
_GUID_NAMES = ("guid", "id")
# What feedparser does to every text it reads as UTF-8: C1 controls read as Windows-1252 (the
# five codes Windows-1252 leaves undefined stay as they are).
_C1_CONTROL = re.compile("[\x80-\x9f]")
_C1_AS_CP1252 = {
    code: bytes([code]).decode("cp1252")
    for code in range(0x80, 0xA0)
    if code not in (0x81, 0x8D, 0x8F, 0x90, 0x9D)
}

_CDATA = re.compile(r"(<!\[CDATA\[.*?\]\]>)", re.S)
_REFERENCE = re.compile(r"&(#[0-9]+;|#[xX][0-9A-Fa-f]+;|[A-Za-z][A-Za-z0-9]*;)?")
_XML_ENTITIES = frozenset({"amp;", "lt;", "gt;", "quot;", "apos;"})
_INVALID_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_DECLARATION = re.compile(r"<\?xml[^>]*\?>")
# A start tag up to its `>` (attribute values may hold `>`); group 1 is `/` for an empty element.
_START_TAG = re.compile(rb"<[^\s/>]+(?:\s+[^\s=/>]+\s*=\s*(?:\"[^\"]*\"|'[^']*'))*\s*(/?)>")


@dataclass(slots=True)
class _MediaObject:
    """One `media:content`, `media:group` or the item itself, with its caption parts."""

    descriptions: list[str] = field(default_factory=list)
    titles: list[str] = field(default_factory=list)
    credits: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class MediaItem:
    """What our pass read from one item, in document order."""

    guid: str | None
    link: str | None
    #: The item's own `<title>` and `<description>`/`<summary>` text, None when absent.
    title: str | None
    description: str | None
    #: "description (else title) / credit", or the credit alone; empty without Media RSS.
    caption: str
    #: Plain texts of every media:description and media:title, to recognise misfiled copies.
    media_descriptions: tuple[str, ...]
    media_titles: tuple[str, ...]
    media_categories: tuple[str, ...]


def uses_media_rss(document: bytes) -> bool:
    """Cheap test before the full pass: does the document mention Media RSS at all?"""
    return b"search.yahoo.com/mrss" in document or b"<media:" in document


def uses_content_module(document: bytes) -> bool:
    """Cheap test: may the document hold a `content:encoded` this pass can take?"""
    return CONTENT_NAMESPACE.encode() in document


def body_placeholder(number: int) -> str:
    """What feedparser reads in place of the document's `number`-th `content:encoded` (from
    0); no feed writes this (U+E000 is a private-use character)."""
    return f"\ue000watcher-body-{number}\ue000"


def _as_feedparser_reads(text: str) -> str:
    """An element's text as feedparser's strict parser returns it from a UTF-8 document:
    stripped, Latin-1 mojibake of UTF-8 undone, C1 controls read as Windows-1252."""
    text = text.strip()
    if text.isascii():  # both steps leave ASCII as it is (and a dict translate is slow)
        return text
    with contextlib.suppress(UnicodeEncodeError, UnicodeDecodeError):
        text = text.encode("iso-8859-1").decode("utf-8")
    return text.translate(_C1_AS_CP1252) if _C1_CONTROL.search(text) else text


def _repair_reference(match: re.Match[str]) -> str:
    reference = match.group(1)
    if reference is None:
        return "&amp;"
    if reference.startswith("#"):
        digits = reference[1:-1]
        codepoint = int(digits[1:], 16) if digits[:1] in "xX" else int(digits)
        valid = codepoint in (0x9, 0xA, 0xD) or 0x20 <= codepoint <= 0x10FFFF
        return match.group(0) if valid and not 0xD800 <= codepoint <= 0xDFFF else ""
    if reference in _XML_ENTITIES:
        return match.group(0)
    replacement = html.entities.html5.get(reference)
    if replacement is None:
        return "&amp;" + reference
    return "".join(f"&#{ord(char)};" for char in replacement)


def _repair(text: str) -> str:
    """Make the common breakages of real feeds well-formed, leaving CDATA sections alone."""
    pieces = _CDATA.split(_INVALID_CHARS.sub("", text))
    for index in range(0, len(pieces), 2):
        pieces[index] = _REFERENCE.sub(_repair_reference, pieces[index])
    return _DECLARATION.sub("", "".join(pieces), count=1).lstrip()


def _clean(value: str) -> str:
    return html_to_text(value) if looks_like_html(value) else " ".join(value.split())


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(value for value in values if value))


@dataclass(frozen=True, slots=True)
class ExtensionPass:
    """The items of a document and, when it could be read as it is, the document without
    the Media RSS elements of its items and with placeholders for the texts of their
    `content:encoded` elements, `bodies` (None and empty otherwise: then feedparser reads it
    whole). `seen_keys`: the keys of the items cut out whole because they were listed
    before (see `read_extensions`); `items` and `numbers` (each item's position in the
    document, from 1) are those of the items left."""

    items: list[MediaItem]
    stripped: bytes | None
    bodies: tuple[str, ...] = ()
    seen_keys: tuple[str, ...] = ()
    numbers: tuple[int, ...] = ()


class _ItemReader:
    """Builds the MediaItems of one document from expat's events.

    With `document` and `position` (expat's current byte index), it also records the byte span
    of every outermost Media RSS element inside an item whose prefix the document declares, and
    of every plain `content:encoded` child of an item.
    """

    def __init__(
        self, document: bytes | None = None, position: Callable[[], int] | None = None
    ) -> None:
        self.items: list[MediaItem] = []
        self._scopes: list[dict[str, str]] = [{}]
        self._depth = 0
        self._item_depth: int | None = None
        self._texts: list[list[str]] = []
        self._element_stack: list[tuple[str, bool]] = []
        self._document = document or b""
        self._position = position
        #: Spans to replace (Media RSS elements by nothing, bodies by their placeholders);
        #: None when they cannot be told exactly.
        self.spans: list[tuple[int, int, bytes]] | None = [] if position is not None else None
        #: The texts of the `content:encoded` elements cut, in document order.
        self.bodies: list[str] = []
        self._cut_depth: int | None = None
        self._cut_start = 0
        #: The `content:encoded` being read: its start, and whether it is still plain text.
        self._encoded_start: int | None = None
        self._encoded_plain = False
        #: Per item: its span when it could be cut out whole (see `_whole_item`).
        self.item_spans: list[tuple[int, int] | None] = []
        self._item_start = 0
        self._reset_item()

    def _reset_item(self) -> None:
        self._own: dict[str, str] = {}
        self._item_level = _MediaObject()
        self._group: _MediaObject | None = None
        self._content: _MediaObject | None = None
        self._contents: list[tuple[_MediaObject, _MediaObject | None]] = []
        self._groups: list[_MediaObject] = []
        self._categories: list[str] = []
        # The item's guid-like children (`guid`, `id`, any prefix) as (name, text, plain).
        self._guids: list[tuple[str, str, bool]] = []
        self._guid_plain = False

    def _is_media(self, name: str) -> tuple[str, bool]:
        prefix, _, local = name.rpartition(":")
        if not prefix:
            return local, False
        namespace = self._scopes[-1].get(prefix)
        if namespace is None:
            return local, prefix == _MEDIA_PREFIX
        return local, namespace in MEDIA_NAMESPACES

    def start(self, name: str, attributes: dict[str, str]) -> None:
        scope = self._scopes[-1]
        # Most elements have no attributes; this runs for every element of the document.
        if attributes:
            declared = {
                key[len("xmlns:") :]: value
                for key, value in attributes.items()
                if key.startswith("xmlns:")
            }
            scope = {**scope, **declared} if declared else scope
        self._scopes.append(scope)
        self._depth += 1
        local, media = self._is_media(name)
        self._element_stack.append((local, media))
        self._texts.append([])
        if self._item_depth is None:
            if local in _ITEM_NAMES and not media:
                self._item_depth = self._depth
                self._item_start = self._position() if self._position is not None else 0
                self._reset_item()
            return
        if self._depth == self._item_depth + 1 and local in _GUID_NAMES:
            self._guid_plain = True
        elif self._depth == self._item_depth + 2 and self._element_stack[-2][0] in _GUID_NAMES:
            self._guid_plain = False  # markup inside a guid: not a plain one
        if media and self._cut_depth is None and name.rpartition(":")[0] in self._scopes[-1]:
            self._start_cut()
        if self._encoded_start is not None:
            self._encoded_plain = False  # markup inside: feedparser rebuilds it as text
        elif (
            name == _ENCODED
            and self._depth == self._item_depth + 1
            and not attributes
            and scope.get("content") == CONTENT_NAMESPACE
            and self.spans is not None
            and self._position is not None
        ):
            self._encoded_start, self._encoded_plain = self._position(), True
        if media and local == "group":
            self._group = _MediaObject()
            self._groups.append(self._group)
        elif media and local == "content":
            self._content = _MediaObject()
            self._contents.append((self._content, self._group))
        elif not media and local == "link" and self._depth == self._item_depth + 1:
            rel = attributes.get("rel", "alternate")
            if attributes.get("href") and rel == "alternate":
                self._own.setdefault("link", attributes["href"])

    def _start_cut(self) -> None:
        if self.spans is None or self._position is None:
            return
        start = self._position()
        tag = _START_TAG.match(self._document, start)
        if tag is None:
            self.spans = None
        elif tag.group(1):  # an empty element: its start tag is all of it
            self.spans.append((start, tag.end(), b""))
        else:
            self._cut_depth, self._cut_start = self._depth, start

    def _end_cut(self) -> None:
        self._cut_depth = None
        self._cut_to_here(self._cut_start)

    def _cut_to_here(self, start: int, replacement: bytes = b"") -> bool:
        """Replace from `start` to the end of the end tag being read; False when it cannot."""
        if self.spans is None or self._position is None:
            return False
        # expat reports an end tag at its `<`; the tag holds no quotes, so `>` ends it.
        close = self._document.find(b">", self._position())
        if close < 0:
            self.spans = None
            return False
        self.spans.append((start, close + 1, replacement))
        return True

    def _end_encoded(self, start: int, text: str) -> None:
        self._encoded_start = None
        if not self._encoded_plain:
            return
        placeholder = body_placeholder(len(self.bodies))
        if self._cut_to_here(start, f"<{_ENCODED}>{placeholder}</{_ENCODED}>".encode()):
            self.bodies.append(_as_feedparser_reads(text))

    def end(self, name: str) -> None:
        if self._cut_depth == self._depth:
            self._end_cut()
        local, media = self._element_stack.pop()
        text = "".join(self._texts.pop())
        if self._encoded_start is not None and self._depth - 1 == self._item_depth:
            self._end_encoded(self._encoded_start, text)
        if self._item_depth is not None and self._depth > self._item_depth + 1:
            # Text inside a child (XHTML in a description) belongs to the parent's text too,
            # with paragraph breaks where the markup had them.
            self._texts[-1].append(text)
            if local in BREAKING or local in SUBHEADINGS:
                self._texts[-1].append("\n\n")
        if self._item_depth is not None:
            if self._depth == self._item_depth + 1 and local in _GUID_NAMES:
                self._guids.append((name, text, self._guid_plain))
            if self._depth == self._item_depth:
                self._finish_item()
                self._item_depth = None
            elif media:
                self._end_media(local, text)
            elif self._depth == self._item_depth + 1:
                self._end_own(local, text)
        self._depth -= 1
        self._scopes.pop()

    def _end_media(self, local: str, text: str) -> None:
        holder = self._content or self._group or self._item_level
        # As feedparser reads the rest of the item (UTF-8 mislabelled as Latin-1 repaired).
        value = _clean(_as_feedparser_reads(text))
        if local == "description":
            holder.descriptions.append(value)
        elif local == "title":
            holder.titles.append(value)
        elif local == "credit":
            holder.credits.append(value)
        elif local == "category":
            self._categories.append(value)
        elif local == "content":
            self._content = None
        elif local == "group":
            self._group = None

    def _end_own(self, local: str, text: str) -> None:
        if local in ("guid", "id"):
            self._own.setdefault("guid", text.strip())
        elif local == "link" and text.strip():
            self._own.setdefault("link", text.strip())
        elif local == "title":
            self._own.setdefault("title", _as_feedparser_reads(text))
        elif local in ("description", "summary"):
            self._own.setdefault("description", _as_feedparser_reads(text))

    def data(self, text: str) -> None:
        # Only text inside items is ever read; the rest is not kept.
        if self._item_depth is not None:
            self._texts[-1].append(text)

    def _caption(self) -> str:
        """The first media object's description (else title) with its credits.

        A value missing on a `media:content` is inherited from its `media:group`, then from
        the item, as the Media RSS spec says. Without any description or title the caption
        is the first credit found.
        """
        chains = [[content, group, self._item_level] for content, group in self._contents]
        chains += [[group, self._item_level] for group in self._groups]
        chains.append([self._item_level])
        first_credits = ""
        for chain in chains:
            layers = [layer for layer in chain if layer is not None]
            descriptions = [value for layer in layers for value in layer.descriptions if value]
            titles = [value for layer in layers for value in layer.titles if value]
            credits = ", ".join(next((c for c in (_unique(x.credits) for x in layers) if c), []))
            text = (descriptions or titles or [""])[0]
            if text:
                return f"{text} / {credits}" if credits else text
            first_credits = first_credits or credits
        return first_credits

    def _whole_item(self) -> tuple[int, int] | None:
        """The span of the item being closed, when the item can be cut out of the document
        whole: its only guid-like child (its `MediaItem.guid`) is an unprefixed `<guid>` or
        `<id>` of plain ASCII text (so feedparser reads the same id), and its end is found."""
        if self.spans is None or self._position is None or len(self._guids) != 1:
            return None
        name, text, plain = self._guids[0]
        guid = text.strip()
        if name not in _GUID_NAMES or not plain or not guid or not guid.isascii():
            return None
        close = self._document.find(b">", self._position())
        return (self._item_start, close + 1) if close >= 0 else None

    def _finish_item(self) -> None:
        self.item_spans.append(self._whole_item())
        layers = [content for content, _ in self._contents] + self._groups + [self._item_level]
        self.items.append(
            MediaItem(
                guid=self._own.get("guid") or None,
                link=self._own.get("link"),
                title=self._own.get("title"),
                description=self._own.get("description"),
                caption=self._caption(),
                media_descriptions=tuple(_unique([d for x in layers for d in x.descriptions])),
                media_titles=tuple(_unique([t for x in layers for t in x.titles])),
                media_categories=tuple(_unique(self._categories)),
            )
        )


def _read(document: bytes, reader: _ItemReader, parser: expat.XMLParserType) -> None:
    parser.StartElementHandler = reader.start
    parser.EndElementHandler = reader.end
    parser.CharacterDataHandler = reader.data
    parser.buffer_text = True
    parser.Parse(document, True)


def _seen_items(
    reader: _ItemReader, listed_before: Container[str], identity: IdentityRule
) -> dict[int, tuple[int, int, str]]:
    """By item index: the span and key of each item that can be cut out whole and whose guid
    alone gives a key in `listed_before` (the key `parse_feed` would give its entry)."""
    keys = keys_by_guid_alone([item.guid for item in reader.items], by=identity)
    return {
        index: (span[0], span[1], key)
        for index, (span, key) in enumerate(zip(reader.item_spans, keys, strict=True))
        if span is not None and key is not None and key in listed_before
    }


def _without(
    spans: list[tuple[int, int, bytes]], items: list[tuple[int, int, str]]
) -> list[tuple[int, int, bytes]]:
    """`spans` (in document order) less those inside the item spans, plus the item spans cut
    to nothing, in document order."""
    merged: list[tuple[int, int, bytes]] = []
    pending = iter(spans)
    span = next(pending, None)
    for start, end, _ in items:
        while span is not None and span[0] < start:
            merged.append(span)
            span = next(pending, None)
        while span is not None and span[0] < end:  # inside the item: goes with it
            span = next(pending, None)
        merged.append((start, end, b""))
    while span is not None:
        merged.append(span)
        span = next(pending, None)
    return merged


def read_extensions(
    document: bytes,
    listed_before: Container[str] = frozenset(),
    identity: IdentityRule = "auto",
) -> ExtensionPass:
    """The items of a UTF-8 feed document with their Media RSS captions, in document order,
    and, when it is well-formed as it is, the document for feedparser: without those elements,
    with placeholders for the bodies read here.

    `listed_before`: keys of entries the store has seen. An item whose guid alone gives one of
    them (under the feed's `identity` rule) is cut out of the document whole when that is
    safe (see `_ItemReader._whole_item`; never in a document with `xml:base`, which could
    make feedparser read a guid differently): feedparser never reads it, and only its key
    comes back.

    Never raises on bad input: a document that breaks off yields the items completed before
    the break.
    """
    parser = expat.ParserCreate()
    reader = _ItemReader(document, lambda: parser.CurrentByteIndex)
    try:
        _read(document, reader, parser)
    except expat.ExpatError:
        pass  # read it again below, repaired
    else:
        if reader.spans is None:
            return ExtensionPass(reader.items, None)
        seen = (
            _seen_items(reader, listed_before, identity)
            if listed_before and b"xml:base" not in document
            else {}
        )
        spans = _without(reader.spans, list(seen.values())) if seen else reader.spans
        pieces, position = [], 0
        for start, end, replacement in spans:
            pieces += (document[position:start], replacement)
            position = end
        pieces.append(document[position:])
        kept = [index for index in range(len(reader.items)) if index not in seen]
        return ExtensionPass(
            [reader.items[index] for index in kept],
            b"".join(pieces),
            tuple(reader.bodies),
            seen_keys=tuple(key for _, _, key in seen.values()),
            numbers=tuple(index + 1 for index in kept),
        )
    reader = _ItemReader()
    # A document that breaks off still yields the items completed before the break.
    with contextlib.suppress(expat.ExpatError):
        repaired = _repair(document.decode("utf-8", "replace")).encode("utf-8")
        _read(repaired, reader, expat.ParserCreate())
    return ExtensionPass(reader.items, None)
