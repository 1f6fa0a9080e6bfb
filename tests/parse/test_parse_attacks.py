"""Hostile XML: entity expansion, external entities, and bodies that look like file paths.

None of these may expand an entity, read a local file or take noticeable memory; the entity
guard removes every declaration before either of feedparser's parsers sees the document.
"""

from __future__ import annotations

import pathlib
import sys
import types

import pytest

from tests.parse.conftest import Parse
from watcher.feeds.parse import (
    FeedParseError,
    ParsedFeed,
    _feedparser,
    strip_entity_declarations,
)

SECRET = "S3CRET-MARKER-7f2c"

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE rss [
  <!ENTITY lol "lol">
  <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
  <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
  <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
  <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
  <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
  <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<rss version="2.0"><channel><title>Laughs &lol9;</title>
<item><title>Item &lol9;</title><description>&lol9;&lol9;</description></item>
</channel></rss>
"""


def quadratic_blowup(
    entity_size: int = 100_000, references: int = 20_000, *, own_line: bool = False
) -> bytes:
    """The attack of research/reliability.md §1.4: one large entity referenced many times.
    `own_line`: the declaration on a line of its own, the shape feedparser's lenient parser
    expands (on the DOCTYPE's line it never does)."""
    newline = b"\n" if own_line else b""
    return (
        b'<?xml version="1.0"?>\n<!DOCTYPE rss [' + newline + b'<!ENTITY a "'
        + b"A" * entity_size
        + b'">' + newline + b"]>\n"
        + b'<rss version="2.0"><channel><title>t</title><item><title>'
        + b"&a;" * references
        + b"</title></item></channel></rss>"
    )  # fmt: skip


def all_text(parsed: ParsedFeed) -> str:
    return parsed.model_dump_json()


def test_billion_laughs_is_not_expanded(parse: Parse) -> None:
    parsed = parse(BILLION_LAUGHS)
    assert len(all_text(parsed)) < 5_000
    assert "lollol" not in all_text(parsed)
    assert len(parsed.entries) == 1


@pytest.mark.parametrize("own_line", [False, True], ids=["inline", "own-line"])
def test_quadratic_blowup_is_not_expanded(parse: Parse, own_line: bool) -> None:
    parsed = parse(quadratic_blowup(own_line=own_line))
    titles = [entry.article.title for entry in parsed.entries]
    assert all(len(title) < 100_000 for title in titles)
    assert "AAAAAAAAAA" not in all_text(parsed)


def test_quadratic_blowup_after_a_comment_and_a_processing_instruction(parse: Parse) -> None:
    body = quadratic_blowup().replace(
        b"\n<!DOCTYPE", b'\n<?xml-stylesheet href="a.xsl"?><!-- a <b>comment</b> -->\n<!DOCTYPE'
    )
    assert "AAAAAAAAAA" not in all_text(parse(body))


@pytest.fixture
def secret_file(tmp_path: pathlib.Path) -> pathlib.Path:
    path = tmp_path / "secret.txt"
    path.write_text(SECRET)
    return path


def test_external_entity_pointing_at_a_local_file_is_never_read(
    parse: Parse, secret_file: pathlib.Path
) -> None:
    body = (
        f'<?xml version="1.0"?>\n<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file://{secret_file}">]>\n'
        '<rss version="2.0"><channel><title>&xxe;</title>'
        "<item><title>Leak &xxe;</title><description>&xxe;</description></item></channel></rss>"
    ).encode()
    parsed = parse(body)
    assert SECRET not in all_text(parsed)
    assert parsed.entries[0].article.title.startswith("Leak")


def test_external_dtd_and_parameter_entities_are_never_read(
    parse: Parse, secret_file: pathlib.Path
) -> None:
    body = (
        f'<?xml version="1.0"?>\n<!DOCTYPE rss SYSTEM "file://{secret_file}" [\n'
        f'  <!ENTITY % remote SYSTEM "file://{secret_file}"> %remote;\n]>\n'
        '<rss version="2.0"><channel><title>t</title><item><title>x</title></item></channel></rss>'
    ).encode()
    assert SECRET not in all_text(parse(body))


def test_body_that_is_a_local_path_is_not_opened(parse: Parse, tmp_path: pathlib.Path) -> None:
    # A file feedparser would happily parse if it were handed the path as bytes.
    feed_file = tmp_path / "feed.xml"
    feed_file.write_text(
        f'<rss version="2.0"><channel><title>{SECRET}</title>'
        f"<item><title>{SECRET}</title></item></channel></rss>"
    )
    with pytest.raises(FeedParseError) as caught:
        parse(str(feed_file).encode())
    assert SECRET not in str(caught.value)
    assert str(caught.value).startswith("test-feed: not a feed")


def test_feedparser_is_handed_the_bytes_never_a_path_to_open(tmp_path: pathlib.Path) -> None:
    # The last line of defence on its own: the XML declaration the parse puts in front of a
    # body already keeps a path from reaching feedparser as one.
    feed_file = tmp_path / "feed.xml"
    feed_file.write_text(f'<rss version="2.0"><channel><title>{SECRET}</title></channel></rss>')
    parsed = _feedparser(str(feed_file).encode(), {})
    assert SECRET not in str(parsed)


def test_etc_passwd_as_the_body_is_not_a_feed(parse: Parse) -> None:
    with pytest.raises(FeedParseError, match=r"^test-feed: not a feed"):
        parse(b"/etc/passwd")


def test_guard_keeps_a_plain_doctype_and_the_netscape_one() -> None:
    assert strip_entity_declarations(b"<!DOCTYPE rss><rss/>") == b"<!DOCTYPE rss><rss/>"
    netscape = (
        b'<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN"\n'
        b'  "http://my.netscape.com/publish/formats/rss-0.91.dtd"><rss version="0.91"/>'
    )
    assert b"Netscape" in strip_entity_declarations(netscape)


def test_guard_removes_every_declaration_from_the_prolog() -> None:
    guarded = strip_entity_declarations(
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "<b>]>"> <!-- ] --> ]>'
        b'<!ENTITY stray "x"><x>&a;</x>'
    )
    assert b"ENTITY" not in guarded.upper()
    assert guarded.endswith(b"<x>&a;</x>")


def test_unterminated_internal_subset_swallows_the_rest(parse: Parse) -> None:
    with pytest.raises(FeedParseError, match=r"^test-feed: not a feed"):
        parse(b'<!DOCTYPE rss [<!ENTITY a "aaaa"><rss version="2.0"><channel></channel></rss>')


def test_the_expat_driver_parses_even_where_libxml2_bindings_are_installed(
    parse: Parse, monkeypatch: pytest.MonkeyPatch
) -> None:
    # feedparser asks for `drv_libxml2` first; a stand-in module by that name must go unasked.
    asked: list[str] = []
    libxml2_driver = types.ModuleType("drv_libxml2")

    def create_parser() -> object:
        asked.append("drv_libxml2")
        raise AssertionError("libxml2's SAX driver was used")

    libxml2_driver.create_parser = create_parser  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "drv_libxml2", libxml2_driver)
    rss = b'<rss version="2.0"><channel><title>Desk</title><item><title>One</title></item>'
    parsed = parse(rss + b"</channel></rss>")

    assert asked == []
    assert [entry.article.title for entry in parsed.entries] == ["One"]
