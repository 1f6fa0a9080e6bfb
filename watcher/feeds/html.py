"""HTML fragments from feeds → plain text and body blocks (DESIGN §3), on the stdlib parser.

Feed HTML is read for its words only: nothing here ever produces HTML, so there is nothing to
sanitize. Paragraph-like elements become paragraphs, `<h1>`–`<h4>` subheadings; scripts, styles,
embeds and figures (whose caption is the article's `caption`, from Media RSS or else from the
`<figcaption>`s read here) are dropped.
Entities are decoded and whitespace is collapsed; soft hyphens and zero-width characters are
kept as the publisher wrote them (the matcher's normalization removes them).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from html import unescape
from html.parser import HTMLParser

from watcher.article import Block, BlockKind

SUBHEADINGS = frozenset({"h1", "h2", "h3", "h4"})
# Elements that end the running paragraph when they open or close.
BREAKING = frozenset(
    {
        "address", "article", "aside", "blockquote", "center", "dd", "details", "div", "dl",
        "dt", "fieldset", "footer", "form", "h5", "h6", "header", "hr", "li", "main", "nav",
        "ol", "p", "pre", "section", "summary", "table", "tbody", "tfoot", "thead", "tr", "ul",
    }
)  # fmt: skip
# Elements whose whole content is left out of the text. Only elements with an end tag belong
# here: a void element would open a dropped region that never closes.
DROPPED = frozenset(
    {
        "audio", "button", "canvas", "figcaption", "figure", "head", "iframe", "math",
        "noscript", "object", "picture", "script", "select", "style", "svg", "template",
        "textarea", "video",
    }
)  # fmt: skip
CELLS = frozenset({"td", "th"})
# Elements that never have an end tag (nor content).
VOID = frozenset(
    {
        "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param",
        "source", "track", "wbr",
    }
)  # fmt: skip

# Markup that gives a fragment its own paragraph structure; without any, blank lines do.
_STRUCTURE = re.compile(
    r"<\s*(?:p|div|br|li|h[1-6]|blockquote|ul|ol|table|tr|section|article|pre)\b", re.I
)
_BLANK_LINE = re.compile(r"\n[ \t\r\f\v]*\n")
_TAG_OR_ENTITY = re.compile(r"<[A-Za-z/!][^>]*>|&(?:#\d+|#[xX][0-9A-Fa-f]+|[A-Za-z][A-Za-z0-9]*);")


_WHITESPACE = re.compile(r"\s+")
# split/join is several times faster than the regex (which replaces every single space too),
# but builds a list of every word: fine for a paragraph, not for a body of megabytes.
_SPLIT_LIMIT = 16384


def _collapse(text: str) -> str:
    if len(text) <= _SPLIT_LIMIT:
        return " ".join(text.split())
    return _WHITESPACE.sub(" ", text).strip()


class _BlockCollector(HTMLParser):
    """Collects (kind, text) blocks from one fragment as the parser walks it.

    Dropped elements are numbered in the order they open; those in `kept` are read as plain
    containers instead (see `_blocks_of_markup`).
    """

    def __init__(self, kept: frozenset[int] = frozenset()) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[tuple[BlockKind, str]] = []
        self._parts: list[str] = []
        self._kind: BlockKind = "paragraph"
        # True right after a <br> with only whitespace since: a second <br> ends the paragraph.
        self._after_break = False
        # Open elements, each with its number when it is dropped (else -1), so that an end tag
        # closes what it closes in a browser: its element and everything still open inside.
        self._open: list[tuple[str, int]] = []
        # Where the outermost open dropped element is in `_open` (-1: none is open).
        self._dropped_at = -1
        self._dropped_count = 0
        self._kept = kept
        # Dropped elements with paragraphs inside.
        self._holding: set[int] = set()
        #: Dropped elements with paragraphs inside that no end tag of their own closed: a
        #: missing end tag, not an image with its caption.
        self.unclosed: set[int] = set()
        #: The text of each `<figcaption>` (dropped from the blocks: the article's caption).
        self.captions: list[str] = []
        # Where the open figcaption is in `_open` (-1: none), and its text so far.
        self._caption_at = -1
        self._caption_parts: list[str] = []

    def close(self) -> None:
        # The parser hands back an unterminated construct as text at the end; a comment that
        # never closes is still a comment, not words of the article.
        if self.rawdata.startswith("<!--"):
            self.rawdata = ""
        super().close()

    def flush(self) -> None:
        text = _collapse("".join(self._parts))
        if text:
            self.blocks.append((self._kind, text))
        self._parts = []
        self._kind = "paragraph"
        self._after_break = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in DROPPED:
            number = self._dropped_count
            self._dropped_count += 1
            if number not in self._kept:
                if self._dropped_at < 0:
                    self._dropped_at = len(self._open)
                if tag == "figcaption" and self._caption_at < 0:
                    self._caption_at = len(self._open)
                self._open.append((tag, number))
                return
            self._open.append((tag, -1))
            if self._dropped_at < 0:
                self.flush()
            return
        if tag not in VOID:
            self._open.append((tag, -1))
        if self._dropped_at >= 0:
            if tag in BREAKING or tag in SUBHEADINGS:
                self._holding.update(n for _, n in self._open[self._dropped_at :] if n >= 0)
            return
        if tag == "br":
            if self._after_break:
                self.flush()
            else:
                self._parts.append(" ")
                self._after_break = True
        elif tag in SUBHEADINGS:
            self.flush()
            self._kind = "subheading"
        elif tag in BREAKING:
            self.flush()
        elif tag in CELLS:
            self._parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        index = len(self._open) - 1
        while index >= 0 and self._open[index][0] != tag:
            index -= 1
        if index >= 0:
            closed = self._open[index:]
            del self._open[index:]
            self._close_implicitly(closed[1:])
            if index <= self._caption_at:
                self._end_caption()
            if index <= self._dropped_at:
                self._dropped_at = -1
            if tag in DROPPED:
                if closed[0][1] < 0 and self._dropped_at < 0:  # kept: a plain container
                    self.flush()
                return
        if self._dropped_at >= 0 or tag in DROPPED:
            return
        if tag in SUBHEADINGS or tag in BREAKING:
            self.flush()
        elif tag in CELLS:
            self._parts.append(" ")

    def _close_implicitly(self, elements: list[tuple[str, int]]) -> None:
        for name, number in elements:
            if number in self._holding and name not in _RAW_TEXT:
                self.unclosed.add(number)

    def _end_caption(self) -> None:
        text = _collapse("".join(self._caption_parts))
        if text:
            self.captions.append(text)
        self._caption_at, self._caption_parts = -1, []

    def finish(self) -> None:
        """The end of the fragment closes what is still open."""
        self._close_implicitly(self._open)
        if self._caption_at >= 0:
            self._end_caption()
        self._open = []
        self.flush()

    def handle_data(self, data: str) -> None:
        if self._dropped_at >= 0:
            if self._caption_at >= 0:
                self._caption_parts.append(data)
            return
        if not data.isspace():
            self._after_break = False
        self._parts.append(data)


# A start or end tag written so plainly that every version of HTMLParser reads it the same way:
# ASCII names, attributes separated by ASCII whitespace, values quoted or plain (no `/`), no
# attributes on end tags. Group 1: start tag name, 2: `/` when self-closing, 3: end tag name.
_PLAIN_TAG = re.compile(
    r"<(?:([A-Za-z][A-Za-z0-9]*)"
    r"(?:[ \t\n\r\f]+[A-Za-z_:][-A-Za-z0-9_:.]*"
    r"(?:[ \t\n\r\f]*=[ \t\n\r\f]*(?:\"[^\"]*\"|'[^']*'|[^\s\"'=<>`/]+(?=[ \t\n\r\f>])))?)*"
    r"[ \t\n\r\f]*(/?)|/([A-Za-z][A-Za-z0-9]*)[ \t\n\r\f]*)>"
)
# Elements whose content HTMLParser reads as raw text (more of them in newer Pythons).
_RAW_TEXT = frozenset(
    {
        "iframe", "noembed", "noframes", "noscript", "plaintext", "script", "style", "textarea",
        "title", "xmp",
    }
)  # fmt: skip


def _walk_plain_markup(fragment: str, collector: _BlockCollector) -> bool:
    """Feed the collector the events HTMLParser would, when every `<` opens a plain tag (see
    `_PLAIN_TAG`); False, part-way through, otherwise.

    HTMLParser is pure Python and costs about a microsecond per character of markup; this walk
    costs a regular expression match per tag and is what the usual feed fragment gets.
    """
    position = 0
    for tag in _PLAIN_TAG.finditer(fragment):
        if not _walk_text(fragment[position : tag.start()], collector):
            return False
        position = tag.end()
        start, self_closing, end = tag.groups()
        name = (start or end).lower()
        if name in _RAW_TEXT:
            return False
        if end:
            collector.handle_endtag(name)
            continue
        collector.handle_starttag(name, [])
        if self_closing:
            collector.handle_endtag(name)
    return _walk_text(fragment[position:], collector)


def _walk_text(text: str, collector: _BlockCollector) -> bool:
    if "<" in text:
        return False
    if text:
        collector.handle_data(unescape(text))
    return True


# The parser reads an entry's description and body more than once (to compare them with its
# captions, then to build its blocks); the last few results are kept so each is read once.
@dataclass(frozen=True, slots=True)
class _Reading:
    blocks: tuple[tuple[BlockKind, str], ...]
    captions: tuple[str, ...]


@functools.lru_cache(maxsize=64)
def _read_markup(fragment: str) -> _Reading:
    collector = _collect(fragment)
    if collector.unclosed:
        # A figure (or video, …) whose end tag is missing would hide the rest of the text; a
        # browser shows its paragraphs, so the second reading keeps them.
        collector = _collect(fragment, frozenset(collector.unclosed))
    return _Reading(tuple(collector.blocks), tuple(collector.captions))


def _blocks_of_markup(fragment: str) -> tuple[tuple[BlockKind, str], ...]:
    return _read_markup(fragment).blocks


def _collect(fragment: str, kept: frozenset[int] = frozenset()) -> _BlockCollector:
    collector = _BlockCollector(kept)
    if not _walk_plain_markup(fragment, collector):
        collector = _BlockCollector(kept)
        collector.feed(fragment)
        collector.close()
    collector.finish()
    return collector


def looks_like_html(value: str) -> bool:
    """True when the value holds a tag or an entity reference, so it must be read as HTML."""
    return _TAG_OR_ENTITY.search(value) is not None


def html_to_blocks(fragment: str) -> list[Block]:
    """Paragraphs and subheadings of an HTML fragment, empty blocks dropped.

    A fragment with no paragraph markup at all (text with inline tags only) is split on its
    blank lines, as a reader of the feed would see it in a plain-text client.
    """
    if not _STRUCTURE.search(fragment) and _BLANK_LINE.search(fragment):
        pieces = _BLANK_LINE.split(fragment)
    else:
        pieces = [fragment]
    return [
        Block(kind=kind, text=text) for piece in pieces for kind, text in _blocks_of_markup(piece)
    ]


def text_to_blocks(text: str) -> list[Block]:
    """Paragraphs of plain text: blank lines separate them, other whitespace collapses."""
    paragraphs = (_collapse(piece) for piece in _BLANK_LINE.split(text))
    return [Block(kind="paragraph", text=paragraph) for paragraph in paragraphs if paragraph]


# A paragraph that only sends the reader to the article ("Continue reading...", "Read full
# article >>", "[mehr]"), in the languages of the feeds we have seen it in, or WordPress's
# "The post … appeared first on …".
_READ_MORE_PHRASE = (
    r"(?:continue reading|read (?:the )?(?:full|whole|complete) (?:article|story)|read more|"
    r"(?:read|see) the rest|full (?:article|story)|to read this article in full,? please click "
    r"here|click here to read more|more|mehr|weiterlesen|lire la suite|leer m[aá]s|"
    r"leia mais|continua a leggere|devam[ıi]n[ıi] oku|подробнее|читать далее|детальніше|"
    r"читати далі)"
)
_READ_MORE = re.compile(
    rf"[\[(]?\s*{_READ_MORE_PHRASE}\s*(?:\.{{2,3}}|…|>>|»|→|:)?\s*[\])]?\s*[.!]?"
    # WordPress's footer on every post of a site's feed.
    r"|The post .+ appeared first on .+",
    re.I,
)
_READ_MORE_GLUED = re.compile(rf"\s*\[\s*{_READ_MORE_PHRASE}\s*(?:\.{{2,3}}|…)?\s*\]\Z", re.I)


def _without_read_more(blocks: list[Block]) -> list[Block]:
    """The blocks without the trailing "read more" paragraphs, or such a link glued to the
    last sentence (`…by Jana Sinram.[mehr]`): they are no words of the article."""
    while blocks and _READ_MORE.fullmatch(blocks[-1].text):
        blocks = blocks[:-1]
    if blocks and "[" in blocks[-1].text:
        last = blocks[-1]
        text = _READ_MORE_GLUED.sub("", last.text)
        if text != last.text:
            blocks = [*blocks[:-1], *([Block(kind=last.kind, text=text)] if text else [])]
    return blocks


def to_blocks(value: str, *, is_html: bool) -> list[Block]:
    """Blocks of a feed text field, read as HTML when it is declared or looks like HTML; the
    links to the article that some feeds end it with are left out."""
    if is_html or looks_like_html(value):
        return _without_read_more(html_to_blocks(value))
    return _without_read_more(text_to_blocks(value))


_FIGCAPTION = re.compile(r"<\s*figcaption", re.I)


def html_captions(fragment: str) -> list[str]:
    """The text of the fragment's `<figcaption>`s, which its blocks leave out."""
    if not _FIGCAPTION.search(fragment):  # most bodies have none: no second reading
        return []
    return list(_read_markup(fragment).captions)


def html_to_text(fragment: str) -> str:
    """One line of plain text: tags stripped, entities decoded, whitespace collapsed."""
    if not looks_like_html(fragment):
        return _collapse(fragment)
    return " ".join(text for _, text in _blocks_of_markup(fragment))
