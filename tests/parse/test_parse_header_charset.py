"""The charset a response's Content-Type names decodes a feed that declares none itself."""

from __future__ import annotations

from tests.parse.conftest import Parse

TITLE = "Граница закрыта"
SUMMARY = "Пограничники усилили патрули на востоке."


def cyrillic_rss() -> bytes:
    # No encoding in an XML declaration: only the response header says windows-1251.
    return (
        '<rss version="2.0"><channel><title>Новости</title>'
        f"<item><title>{TITLE}</title><guid>b1</guid>"
        f"<description>{SUMMARY}</description></item></channel></rss>"
    ).encode("windows-1251")


def test_a_windows_1251_feed_is_decoded_by_the_charset_of_a_capitalised_header(
    parse: Parse,
) -> None:
    parsed = parse(cyrillic_rss(), {"Content-Type": "application/rss+xml; charset=windows-1251"})
    assert parsed.title == "Новости"
    assert [(e.article.title, e.article.summary) for e in parsed.entries] == [(TITLE, SUMMARY)]
