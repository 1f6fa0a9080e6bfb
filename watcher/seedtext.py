"""Read and write the seed text format (DESIGN §3).

One article is::

     date 2025-05-20 TÜRKİYE          line 1: one space, `date`, the date, the section
    Title                             line 2
    Standfirst                        line 3 (may be empty)
    Caption (Photo: …) / AGENCY       line 4 (may be empty)
    18 hours ago                      line 5 (may be empty)
                                      line 6: blank
    First paragraph.                  body blocks, one blank line between them

    A subheading

    Another paragraph.

    SOURCE:TRT World and Agencies     the last line

The format does not mark block kinds: the reader infers them from the text with
`classify_block`, and the writer relies on the same rule. A body block is a *subheading* when it
is a single line of at most `SUBHEADING_MAX_CHARS` characters that does not end with sentence
punctuation (``. ! ? : ; …``, optionally followed by closing quotes or brackets
``” " ’ ' ) ] »``); every other block is a *paragraph*. A block written over several lines is a
paragraph whose lines are joined with one space. An article whose block kinds disagree with that
rule (a three-word paragraph, a 150-character subheading) is written fine and reads back with the
inferred kinds.

Reading accepts UTF-8 with or without a BOM, LF, CRLF or lone CR line endings, a date line
without its leading space, and ``SOURCE: x`` with a space; it ignores trailing whitespace.
Writing produces UTF-8 text with LF endings and a final newline. Several articles in one stream
(`watcher fetch --format seed`) are separated by a line holding only ``---``; blank lines around
a separator are allowed. Metadata (url, guid, feed, language, fetched_at, published_at) has no
place in the format: the writer leaves it out and the reader leaves it unset.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from watcher.article import Article, Block, BlockKind

#: Files (and, in a stream, single articles) larger than this are refused unread.
MAX_BYTES = 5 * 1024 * 1024
_MAX_MB = MAX_BYTES // (1024 * 1024)
#: The longest line that can still be a subheading.
SUBHEADING_MAX_CHARS = 100
#: The line between two articles of a stream.
SEPARATOR = "---"
SOURCE_PREFIX = "SOURCE:"
_HEADER_LINES = 5
_DATE_LINE_SHAPE = "' date YYYY-MM-DD SECTION'"
_SHORT_HEADER = (
    "the header is shorter than five lines: expected date, title, standfirst, caption and age "
    "lines (caption and age may be empty lines), then a blank line"
)
_DATE_LINE = re.compile(r"\s*date\s+(?P<date>\S+)(?:\s+(?P<section>.*))?")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_SENTENCE_END = frozenset(".!?:;…")
_CLOSERS = "”\"’')]»"
_BOM = "\ufeff"
_BOM_BYTES = b"\xef\xbb\xbf"
# A NUL, or an invalid byte decoded with `surrogateescape` (U+DC80–U+DCFF).
_NOT_TEXT = re.compile("[\x00\udc80-\udcff]")
_FOUND_CHARS = 60


class SeedTextError(ValueError):
    """A file or article that breaks the seed format; str() is ``path:line: message``."""

    def __init__(self, path: str, line: int, message: str) -> None:
        super().__init__(path, line, message)
        self.path = path
        self.line = line
        self.message = message

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


def classify_block(text: str) -> BlockKind:
    """'subheading' for one short line without final sentence punctuation, else 'paragraph'."""
    line = text.strip()
    if not line or "\n" in line or "\r" in line or len(line) > SUBHEADING_MAX_CHARS:
        return "paragraph"
    bare = line.rstrip(_CLOSERS)
    if bare and bare[-1] in _SENTENCE_END:
        return "paragraph"
    return "subheading"


# --- writing ---------------------------------------------------------------------------------


def render(article: Article) -> str:
    """The article as seed text: LF line endings, a final newline, no metadata.

    Raises ValueError for an article without a title, which the format cannot hold.
    """
    if not article.title:
        raise ValueError("an article needs a title to be written as seed text")
    date_line = f" date {article.date.isoformat()}"
    if article.section:
        date_line += f" {article.section}"
    header = "\n".join([date_line, article.title, article.summary, article.caption, article.age])
    parts = [header, *(block.text for block in article.body), SOURCE_PREFIX + article.source]
    return "\n\n".join(parts) + "\n"


def render_many(articles: Iterable[Article]) -> str:
    """Several articles as one stream, separated by ``---`` lines (read back by read_articles).

    Raises ValueError for an article with a line that is just ``---`` (a divider paragraph, say):
    in a stream that line would read as the end of the article.
    """
    texts = []
    for article in articles:
        text = render(article)
        if any(line.strip() == SEPARATOR for line in text.split("\n")):
            raise ValueError(
                f"article {article.title!r} has a line '{SEPARATOR}', "
                "which would split it in two in a stream"
            )
        texts.append(text)
    return f"{SEPARATOR}\n".join(texts)


# --- reading ---------------------------------------------------------------------------------


def parse(text: str, *, path: str = "<string>") -> Article:
    """One article from seed text; raises SeedTextError naming `path` and the line."""
    base = 0
    if text.startswith(_BOM):
        text = text[1:]
        base = len(_BOM_BYTES)
    lines: list[str] = []
    for number, (line, offset) in enumerate(_split_lines(text), 1):
        _check_text(line, path, number, base + offset)
        lines.append(line)
    return _parse_lines(lines, path=path, first_line=1)


def read_file(path: str | os.PathLike[str]) -> Article:
    """One article from a seed-format file; raises SeedTextError for any problem with it."""
    label = os.fspath(path)
    _check_size(path, label)
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_BYTES + 1)
    except OSError as error:
        raise _os_error(label, error) from None
    if len(data) > MAX_BYTES:  # the file grew after it was measured
        raise SeedTextError(label, 1, f"file is over the {_MAX_MB} MB limit")
    return parse(data.decode("utf-8", errors="surrogateescape"), path=label)


def read_articles(
    source: str | os.PathLike[str] | BinaryIO, *, path: str | None = None
) -> Iterator[Article | SeedTextError]:
    """Every article of a file or binary stream, articles separated by ``---`` lines.

    Yields a SeedTextError in place of each article that cannot be read, so one bad article
    never hides the others; a file that cannot be opened, is over the size limit or holds no
    text yields one error. In a stream the size limit applies to each article. `path` names
    the input in errors (default: the file name, or ``<stream>``).
    """
    if isinstance(source, str | os.PathLike):
        yield from _file_articles(source, path if path is not None else os.fspath(source))
        return
    wrapper = io.TextIOWrapper(source, encoding="utf-8", errors="surrogateescape", newline="")
    try:
        yield from _articles(wrapper, path if path is not None else "<stream>")
    finally:
        # Closing the wrapper would close the caller's stream (stdin, a pipe).
        wrapper.detach()


def _file_articles(source: str | os.PathLike[str], label: str) -> Iterator[Article | SeedTextError]:
    try:
        _check_size(source, label)
        # Not a `with` block: a failure to open is reported apart from the reading.
        handle = open(source, encoding="utf-8", errors="surrogateescape", newline="")  # noqa: SIM115
    except SeedTextError as error:
        yield error
        return
    except OSError as error:
        yield _os_error(label, error)
        return
    with handle:
        yield from _articles(handle, label)


@dataclass
class _Chunk:
    """The lines of one article in a stream, or the error that made it unreadable."""

    first_line: int
    lines: list[str] = field(default_factory=list)
    size: int = 0
    error: SeedTextError | None = None


def _articles(handle: io.TextIOBase, label: str) -> Iterator[Article | SeedTextError]:
    """Articles and errors in stream order; one error for a stream without any article."""
    count = 0
    for chunk in _chunks(handle, label):
        if chunk.error is not None:
            count += 1
            yield chunk.error
        elif any(line.strip() for line in chunk.lines):
            count += 1
            try:
                yield _parse_lines(chunk.lines, path=label, first_line=chunk.first_line)
            except SeedTextError as error:
                yield error
    if count == 0:
        yield SeedTextError(label, 1, "empty file")


def _chunks(handle: io.TextIOBase, label: str) -> Iterator[_Chunk]:
    """Split a text handle (opened with newline='' and surrogateescape) at ``---`` lines."""
    chunk = _Chunk(first_line=1)
    number = 0
    offset = 0
    try:
        while raw := handle.readline(MAX_BYTES + 1):
            number += 1
            line = raw.rstrip("\r\n")
            width = _utf8_length(raw)
            if number == 1 and line.startswith(_BOM):
                line = line[1:]
                offset += len(_BOM_BYTES)
                width -= len(_BOM_BYTES)
            if line.strip() == SEPARATOR:
                yield chunk
                chunk = _Chunk(first_line=number + 1)
            elif chunk.first_line > 1 and not chunk.lines and not line.strip():
                chunk.first_line = number + 1  # blank lines after a separator
            elif chunk.error is None:
                chunk.size += width
                try:
                    _check_text(line, label, number, offset)
                    if chunk.size > MAX_BYTES:
                        raise SeedTextError(
                            label, chunk.first_line, f"article is over the {_MAX_MB} MB limit"
                        )
                except SeedTextError as error:
                    chunk.error = error
                    chunk.lines = []
                else:
                    chunk.lines.append(line)
            offset += width
    except OSError as error:
        chunk.error = chunk.error or SeedTextError(
            label, number + 1, f"cannot read further: {error.strerror or error}"
        )
    yield chunk


def _parse_lines(lines: list[str], *, path: str, first_line: int) -> Article:
    """One article from its lines (without line breaks); lines[0] is line `first_line`."""
    lines = [line.rstrip() for line in lines]

    def fail(index: int, message: str) -> SeedTextError:
        return SeedTextError(path, first_line + index, message)

    if not any(lines):
        raise fail(0, "empty file")
    date, section = _date_line(lines[0], first_line, fail)

    if len(lines) < 2:
        raise fail(1, "expected the title after the date line, but the text ends")
    if not lines[1].strip():
        raise fail(1, "expected the title after the date line, found an empty line")

    last = max(index for index, line in enumerate(lines) if line.strip())
    if last < _HEADER_LINES:
        if _is_source(lines[last]):
            raise fail(last, _SHORT_HEADER)
        if len(lines) < _HEADER_LINES:
            raise fail(len(lines), _SHORT_HEADER)
        raise fail(len(lines), f"expected a last line '{SOURCE_PREFIX}…', but the text ends")
    if lines[_HEADER_LINES].strip():
        raise fail(
            _HEADER_LINES,
            "expected a blank line after the five header lines (date, title, standfirst, "
            "caption, age; caption and age may be empty lines), "
            f"found {_found(lines[_HEADER_LINES])}",
        )
    if not _is_source(lines[last]):
        raise fail(last, f"expected a last line '{SOURCE_PREFIX}…', found {_found(lines[last])}")

    return Article(
        date=date,
        section=section,
        title=lines[1],
        summary=lines[2],
        caption=lines[3],
        age=lines[4],
        body=_blocks(lines[_HEADER_LINES + 1 : last]),
        source=lines[last].strip().removeprefix(SOURCE_PREFIX),
    )


def _date_line(
    line: str, first_line: int, fail: Callable[[int, str], SeedTextError]
) -> tuple[dt.date, str]:
    shape = _DATE_LINE.fullmatch(line)
    if shape is None:
        where = "on line 1" if first_line == 1 else "as the first line of the article"
        raise fail(0, f"expected {_DATE_LINE_SHAPE} {where}, found {_found(line)}")
    token = shape["date"]
    try:
        if not _ISO_DATE.fullmatch(token):
            raise ValueError(token)
        date = dt.date.fromisoformat(token)
    except ValueError:
        raise fail(0, f"'{token}' is not a valid date (YYYY-MM-DD)") from None
    return date, shape["section"] or ""


def _is_source(line: str) -> bool:
    return line.strip().startswith(SOURCE_PREFIX)


def _blocks(lines: list[str]) -> list[Block]:
    """Blank-line separated blocks; a block of several lines is one paragraph."""
    blocks: list[Block] = []
    current: list[str] = []
    for line in [*lines, ""]:
        if line.strip():
            current.append(line.strip())
        elif current:
            text = " ".join(current)
            kind = "paragraph" if len(current) > 1 else classify_block(text)
            blocks.append(Block(kind=kind, text=text))
            current = []
    return blocks


# --- bytes and errors ------------------------------------------------------------------------


def _check_size(path: str | os.PathLike[str], label: str) -> None:
    try:
        size = os.stat(path).st_size
    except OSError as error:
        raise _os_error(label, error) from None
    if size > MAX_BYTES:
        raise SeedTextError(label, 1, f"file is {size} bytes, over the {_MAX_MB} MB limit")


def _check_text(line: str, label: str, line_number: int, line_offset: int) -> None:
    """Fail on a NUL or an invalid UTF-8 byte (decoded with surrogateescape) in `line`."""
    bad = _NOT_TEXT.search(line)
    if bad is None:
        return
    char = bad.group()
    byte = 0 if char == "\x00" else ord(char) - 0xDC00
    offset = line_offset + _utf8_length(line[: bad.start()])
    raise SeedTextError(
        label, line_number, f"not UTF-8 text (byte 0x{byte:02x} at offset {offset})"
    )


def _split_lines(text: str) -> Iterator[tuple[str, int]]:
    """Lines without their breaks (CRLF, LF or CR), each with its UTF-8 byte offset in text."""
    start = 0
    offset = 0
    for line_break in _LINE_BREAK.finditer(text):
        yield text[start : line_break.start()], offset
        offset += _utf8_length(text[start : line_break.end()])
        start = line_break.end()
    if start < len(text):
        yield text[start:], offset


def _utf8_length(text: str) -> int:
    return len(text.encode("utf-8", errors="surrogateescape"))


def _os_error(label: str, error: OSError) -> SeedTextError:
    return SeedTextError(label, 1, f"cannot read the file: {error.strerror or error}")


def _found(line: str) -> str:
    text = line.strip()
    if not text:
        return "an empty line"
    if len(text) > _FOUND_CHARS:
        text = text[: _FOUND_CHARS - 1] + "…"
    return f"'{text}'"
