"""Files that break the seed format fail with `path:line: what was expected`, one at a time."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from watcher.article import Article
from watcher.seedtext import MAX_BYTES, SeedTextError, parse, read_articles, read_file

GOOD = (
    " date 2025-05-21 TÜRKİYE\n"
    "Border gate reopens\n"
    "Trucks cross again after months.\n"
    "Lorries at the gate (Photo: AA) / AA\n"
    "3 hours ago\n"
    "\n"
    "The gate reopened on Wednesday.\n"
    "\n"
    "SOURCE:Agencies\n"
)


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(content, str):
        content = content.encode("utf-8")
    path.write_bytes(content)
    return path


def failure(path: Path) -> SeedTextError:
    with pytest.raises(SeedTextError) as caught:
        read_file(path)
    error = caught.value
    assert str(error) == f"{error.path}:{error.line}: {error.message}"
    assert error.path == str(path)
    # read_articles reports the same problem instead of raising.
    assert [str(e) for e in read_articles(path)] == [str(error)]
    return error


@pytest.mark.parametrize("content", ["", "\n\n  \n", "\ufeff", "\ufeff\r\n"])
def test_empty_file(tmp_path: Path, content: str) -> None:
    path = write(tmp_path, "empty.txt", content)
    assert str(failure(path)) == f"{path}:1: empty file"


def test_no_date_line(tmp_path: Path) -> None:
    path = write(tmp_path, "nodate.txt", GOOD.split("\n", 1)[1])
    assert str(failure(path)) == (
        f"{path}:1: expected ' date YYYY-MM-DD SECTION' on line 1, found 'Border gate reopens'"
    )


@pytest.mark.parametrize(
    "token", ["2025-13-40", "2025-02-30", "21-05-2025", "2025/05/21", "٢٠٢٥-٠٥-٢١"]
)
def test_bad_date(tmp_path: Path, token: str) -> None:
    path = write(tmp_path, "baddate.txt", GOOD.replace("2025-05-21", token))
    assert str(failure(path)) == f"{path}:1: '{token}' is not a valid date (YYYY-MM-DD)"


def test_date_line_without_a_date(tmp_path: Path) -> None:
    path = write(tmp_path, "dateonly.txt", " date\n" + GOOD.split("\n", 1)[1])
    assert failure(path).message.startswith("expected ' date YYYY-MM-DD SECTION' on line 1")


def test_missing_title_empty_line(tmp_path: Path) -> None:
    path = write(tmp_path, "notitle.txt", GOOD.replace("Border gate reopens", ""))
    assert str(failure(path)) == (
        f"{path}:2: expected the title after the date line, found an empty line"
    )


def test_missing_title_end_of_file(tmp_path: Path) -> None:
    path = write(tmp_path, "onlydate.txt", " date 2025-05-21 WORLD\n")
    assert str(failure(path)) == (
        f"{path}:2: expected the title after the date line, but the text ends"
    )


def test_header_shorter_than_five_lines_before_source(tmp_path: Path) -> None:
    path = write(tmp_path, "short.txt", " date 2025-05-21\nTitle\nStandfirst\n\nSOURCE:AA\n")
    error = failure(path)
    assert error.line == 5
    assert error.message.startswith("the header is shorter than five lines")
    assert "caption and age may be empty lines" in error.message


def test_header_shorter_than_five_lines_at_end_of_file(tmp_path: Path) -> None:
    path = write(tmp_path, "short.txt", " date 2025-05-21\nTitle\nStandfirst\n")
    error = failure(path)
    assert (error.line, error.message.split(":")[0]) == (4, "the header is shorter than five lines")


def test_missing_blank_line_after_the_header(tmp_path: Path) -> None:
    # A four-line header: the first paragraph lands on line 6, where the blank line belongs.
    text = " date 2025-05-21\nTitle\nStandfirst\nCaption\n\nThe gate reopened.\n\nSOURCE:AA\n"
    path = write(tmp_path, "noblank.txt", text)
    assert str(failure(path)) == (
        f"{path}:6: expected a blank line after the five header lines (date, title, standfirst, "
        "caption, age; caption and age may be empty lines), found 'The gate reopened.'"
    )


def test_missing_source_line(tmp_path: Path) -> None:
    path = write(tmp_path, "nosource.txt", GOOD.replace("SOURCE:Agencies\n", "\n\n"))
    assert str(failure(path)) == (
        f"{path}:7: expected a last line 'SOURCE:…', found 'The gate reopened on Wednesday.'"
    )


def test_missing_source_line_after_a_bare_header(tmp_path: Path) -> None:
    path = write(tmp_path, "headeronly.txt", " date 2025-05-21\nT\nS\nC\nA\n")
    assert str(failure(path)) == f"{path}:6: expected a last line 'SOURCE:…', but the text ends"


def test_nul_byte(tmp_path: Path) -> None:
    data = GOOD.encode("utf-8").replace(b"Trucks", b"Tr\x00cks")
    path = write(tmp_path, "nul.txt", data)
    offset = data.index(b"\x00")
    assert str(failure(path)) == f"{path}:3: not UTF-8 text (byte 0x00 at offset {offset})"


@pytest.mark.parametrize("newline", [b"\n", b"\r\n", b"\r"])
@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"])
def test_invalid_utf8_names_the_byte_line_and_offset(
    tmp_path: Path, newline: bytes, bom: bytes
) -> None:
    data = bom + GOOD.encode("utf-8").replace(b"\n", newline).replace(b"Lorries", b"Lorr\xe9es")
    path = write(tmp_path, "latin1.txt", data)
    offset = data.index(b"\xe9")
    assert str(failure(path)) == f"{path}:4: not UTF-8 text (byte 0xe9 at offset {offset})"


def test_binary_file(tmp_path: Path) -> None:
    path = write(tmp_path, "image.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    assert str(failure(path)) == f"{path}:1: not UTF-8 text (byte 0x89 at offset 0)"


def test_file_over_5_mb_is_refused_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "huge.txt"
    with path.open("wb") as handle:  # sparse: a 2 GB file read whole would show
        handle.truncate(2 * 1024**3)
    assert str(failure(path)) == f"{path}:1: file is {2 * 1024**3} bytes, over the 5 MB limit"


def test_file_of_exactly_5_mb_is_read(tmp_path: Path) -> None:
    padding = MAX_BYTES - len(GOOD.encode("utf-8")) - 2
    text = GOOD.replace("\nSOURCE", "\n" + "x" * padding + "\n\nSOURCE")
    path = write(tmp_path, "big.txt", text)
    assert path.stat().st_size == MAX_BYTES
    assert read_file(path).source == "Agencies"


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.txt"
    assert str(failure(path)) == f"{path}:1: cannot read the file: No such file or directory"


def test_directory_given_as_a_file(tmp_path: Path) -> None:
    assert str(failure(tmp_path)) == f"{tmp_path}:1: cannot read the file: Is a directory"


def test_parse_names_the_given_path() -> None:
    with pytest.raises(SeedTextError) as caught:
        parse("no date here\n", path="inbox/a.txt")
    assert str(caught.value).startswith("inbox/a.txt:1: expected ' date YYYY-MM-DD SECTION'")
    with pytest.raises(SeedTextError, match=r"^<string>:1: "):
        parse("")


def test_error_is_a_value_error_and_survives_pickling() -> None:
    import pickle

    error = SeedTextError("a.txt", 3, "bad")
    assert isinstance(error, ValueError)
    assert str(pickle.loads(pickle.dumps(error))) == "a.txt:3: bad"


# --- batches and streams ----------------------------------------------------------------------


def test_a_broken_file_in_a_batch_does_not_stop_the_others(tmp_path: Path) -> None:
    write(tmp_path, "a.txt", GOOD)
    write(tmp_path, "b.txt", GOOD.replace(" date 2025-05-21", " date 2025-99-99"))
    write(tmp_path, "c.txt", b"\xff\xfe binary")
    write(tmp_path, "d.txt", GOOD.replace("Border gate", "Second gate"))
    results = [item for path in sorted(tmp_path.glob("*.txt")) for item in read_articles(path)]
    assert [type(item).__name__ for item in results] == [
        "Article",
        "SeedTextError",
        "SeedTextError",
        "Article",
    ]
    assert str(results[1]).startswith(f"{tmp_path / 'b.txt'}:1: '2025-99-99' is not a valid date")
    assert str(results[2]) == f"{tmp_path / 'c.txt'}:1: not UTF-8 text (byte 0xff at offset 0)"
    assert results[3].title == "Second gate reopens"


def stream_of(*articles: str, newline: str = "\n") -> io.BytesIO:
    text = "---\n".join(articles).replace("\n", newline)
    return io.BytesIO(text.encode("utf-8"))


def test_a_bad_article_in_a_stream_yields_an_error_and_the_rest_come_through() -> None:
    broken = GOOD.replace("SOURCE:Agencies\n", "")
    third = GOOD.replace("Border gate", "Third gate")
    items = list(read_articles(stream_of(GOOD, broken, third), path="-"))
    assert isinstance(items[0], Article) and isinstance(items[2], Article)
    assert items[2].title == "Third gate reopens"
    # Line numbers count from the start of the stream: the broken article starts on line 11.
    assert (
        str(items[1])
        == "-:17: expected a last line 'SOURCE:…', found 'The gate reopened on Wednesday.'"
    )


def test_binary_data_in_one_article_of_a_stream_spares_the_others() -> None:
    data = (
        (GOOD + "---\n").encode()
        + GOOD.encode().replace(b"Trucks", b"\xc3\x28ucks")
        + b"---\n"
        + GOOD.encode()
    )
    items = list(read_articles(io.BytesIO(data), path="feed.seed"))
    offset = data.index(b"\xc3\x28")
    assert [type(i).__name__ for i in items] == ["Article", "SeedTextError", "Article"]
    assert str(items[1]) == f"feed.seed:13: not UTF-8 text (byte 0xc3 at offset {offset})"


def test_an_oversized_article_in_a_stream_spares_the_others() -> None:
    huge = GOOD.replace("\nSOURCE", "\n" + ("word " * 200 + "\n") * 6000 + "\nSOURCE")
    items = list(read_articles(stream_of(GOOD, huge, GOOD), path="-"))
    assert [type(i).__name__ for i in items] == ["Article", "SeedTextError", "Article"]
    assert str(items[1]) == "-:11: article is over the 5 MB limit"


def test_blank_lines_around_separators_and_a_trailing_separator_are_tolerated() -> None:
    text = GOOD + "\n---\n\n\n" + GOOD + "---\n"
    items = list(read_articles(io.BytesIO(text.encode()), path="-"))
    assert items == [parse(GOOD), parse(GOOD)]


def test_an_empty_stream_is_reported_once() -> None:
    assert [str(e) for e in read_articles(io.BytesIO(b""), path="-")] == ["-:1: empty file"]
    assert [str(e) for e in read_articles(io.BytesIO(b"---\n\n---\n"))] == [
        "<stream>:1: empty file"
    ]


def test_crlf_split_across_read_buffers_is_one_line_break() -> None:
    # A tiny buffer puts many CR/LF pairs on a read boundary.
    data = stream_of(GOOD, GOOD, GOOD, newline="\r\n").getvalue()
    stream = io.BufferedReader(io.BytesIO(data), buffer_size=7)
    assert list(read_articles(stream)) == [parse(GOOD)] * 3


def test_reading_a_stream_leaves_it_open() -> None:
    stream = stream_of(GOOD)
    assert len(list(read_articles(stream))) == 1
    assert not stream.closed


def test_a_separator_line_in_a_single_file_read_by_read_file_is_a_block(tmp_path: Path) -> None:
    text = GOOD.replace("\nSOURCE", "\n---\n\nSOURCE")
    path = write(tmp_path, "divider.txt", text)
    assert read_file(path).body[-1].text == "---"


def test_an_article_in_a_stream_without_date_line_is_named_by_its_own_line() -> None:
    items = list(read_articles(stream_of(GOOD, GOOD.split("\n", 1)[1]), path="-"))
    assert str(items[1]) == (
        "-:11: expected ' date YYYY-MM-DD SECTION' as the first line of the article, "
        "found 'Border gate reopens'"
    )


class FailingStream(io.RawIOBase):
    """A pipe that delivers some data and then fails, like a dropped network mount."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:
        if not self.data:
            raise OSError(5, "Input/output error")
        size = min(len(buffer), len(self.data))
        buffer[:size] = self.data[:size]
        self.data = self.data[size:]
        return size


def test_a_read_error_midway_keeps_the_articles_read_so_far() -> None:
    stream = io.BufferedReader(FailingStream(stream_of(GOOD, GOOD).getvalue()[:-40]))
    items = list(read_articles(stream, path="-"))
    assert items[0] == parse(GOOD)
    assert str(items[1]).startswith("-:")
    assert str(items[1]).endswith("cannot read further: Input/output error")


def test_lenient_reading_of_hand_written_files() -> None:
    text = "date 2025-05-21 TÜRKİYE\nTitle\n\n\n\n\nBody.\n\nSOURCE: AA and Agencies\n"
    article = parse(text)
    assert (article.section, article.source) == ("TÜRKİYE", "AA and Agencies")
