"""Full-text fetching: the SSRF guard refuses what a feed link must not reach; pages are read."""

from __future__ import annotations

import ipaddress
from collections.abc import AsyncIterator

import pytest

from tests.support.httpserver import LoopbackServer, Reply
from watcher.feeds.fetch import Fetcher, HttpLimits
from watcher.feeds.fulltext import FullTextError, fetch_full_text
from watcher.feeds.ssrf import IPAddress, address_problem

PARAGRAPHS = [
    "Officials in the border province said on Tuesday that patrols along the frontier would "
    "double over the coming month, after a rise in irregular crossings since the spring.",
    "Residents of the nearby towns welcomed the decision but asked the governor's office for "
    "clearer information about new checkpoints and the delays they expect on the main road.",
    "The ministry gave no date for the next review of the measures, which it first announced "
    "last year and has extended twice since then without public consultation.",
]
PAGE = (
    "<!doctype html><html><head><meta charset='utf-8'><title>Patrols doubled</title></head>"
    "<body><nav><a href='/'>Home</a> | <a href='/world'>World</a> | <a href='/sport'>Sport</a>"
    "</nav><article><h1>Patrols doubled along the frontier</h1>"
    + "".join(f"<p>{text}</p>" for text in PARAGRAPHS)
    + "</article><footer>© 2025 Example News · Contact · Privacy</footer></body></html>"
).encode()
HTML = {"Content-Type": "text/html; charset=utf-8"}
LOOPBACK = ipaddress.ip_address("127.0.0.1")


def loopback_counts_as_public(ip: IPAddress) -> str | None:
    """The real guard, except that the test server's address passes as a public one."""
    return None if ip == LOOPBACK else address_problem(ip)


@pytest.fixture
async def lenient_fetcher() -> AsyncIterator[Fetcher]:
    async with Fetcher(
        HttpLimits(deadline=2, link_ports=None), address_check=loopback_counts_as_public
    ) as f:
        yield f


async def test_a_link_to_loopback_is_refused_by_default(
    server: LoopbackServer, fetcher: Fetcher
) -> None:
    server.route("/article", Reply(headers=HTML, body=PAGE))

    result = await fetch_full_text(fetcher, server.url("/article"))

    assert isinstance(result, FullTextError)
    assert result.reason == "refused to connect to 127.0.0.1: 127.0.0.1 is a loopback address"
    assert server.requests == []


async def test_with_allow_private_the_article_text_is_extracted(
    server: LoopbackServer, fetcher: Fetcher
) -> None:
    server.route("/article", Reply(headers=HTML, body=PAGE))

    result = await fetch_full_text(fetcher, server.url("/article"), allow_private=True)

    assert not isinstance(result, FullTextError), result
    assert result[-3:] == PARAGRAPHS
    assert not any("Privacy" in line or "Sport" in line for line in result)
    assert "text/html" in (server.requests[0].header("accept") or "")


async def test_a_redirect_to_the_cloud_metadata_address_is_refused(
    server: LoopbackServer, lenient_fetcher: Fetcher
) -> None:
    server.route("/article", Reply.redirect("http://169.254.169.254/latest/meta-data/"))

    result = await fetch_full_text(lenient_fetcher, server.url("/article"))

    assert isinstance(result, FullTextError)
    assert result.reason == (
        "refused to connect to 169.254.169.254: 169.254.169.254 is a cloud metadata address"
    )
    assert [request.path for request in server.requests] == ["/article"]


async def test_a_link_to_a_port_other_than_80_or_443_is_refused_unless_configured(
    server: LoopbackServer,
) -> None:
    # Admin consoles and internal services listen on such ports, on public addresses too.
    server.route("/article", Reply(headers=HTML, body=PAGE))
    async with Fetcher(HttpLimits(deadline=2), address_check=loopback_counts_as_public) as plain:
        refused = await fetch_full_text(plain, server.url("/article"))

    assert isinstance(refused, FullTextError)
    assert refused.reason == (
        f"refused to connect to port {server.port}: links from feeds may reach ports 80, 443 "
        "(`[http] link_ports`)"
    )
    assert server.requests == []

    allowed = HttpLimits(deadline=2, link_ports=frozenset({80, 443, server.port}))
    async with Fetcher(allowed, address_check=loopback_counts_as_public) as configured:
        fetched = await fetch_full_text(configured, server.url("/article"))

    assert isinstance(fetched, list) and fetched[-3:] == PARAGRAPHS


async def test_a_link_with_credentials_in_it_is_refused(
    server: LoopbackServer, lenient_fetcher: Fetcher
) -> None:
    server.route("/article", Reply(headers=HTML, body=PAGE))
    link = server.url("/article").replace("http://", "http://admin:hunter2@")

    result = await fetch_full_text(lenient_fetcher, link)

    assert isinstance(result, FullTextError)
    assert result.reason == "refused: the link carries credentials"
    assert server.requests == []


async def test_a_public_page_passes_the_guard(
    server: LoopbackServer, lenient_fetcher: Fetcher
) -> None:
    server.route("/article", Reply(headers=HTML, body=PAGE))

    result = await fetch_full_text(lenient_fetcher, server.url("/article"))

    assert isinstance(result, list) and result[-3:] == PARAGRAPHS


async def test_pages_that_hold_no_article_say_so(server: LoopbackServer, fetcher: Fetcher) -> None:
    server.route("/pdf", Reply(headers={"Content-Type": "application/pdf"}, body=b"%PDF-1.7"))
    server.route("/empty", Reply(headers=HTML, body=b"<html><body></body></html>"))
    server.route("/missing", Reply(status=404))

    pdf, empty, missing = [
        await fetch_full_text(fetcher, server.url(path), allow_private=True)
        for path in ("/pdf", "/empty", "/missing")
    ]

    assert isinstance(pdf, FullTextError) and pdf.reason == "not an HTML page (application/pdf)"
    assert isinstance(empty, FullTextError)
    assert empty.reason == "no article text found on the page"
    assert isinstance(missing, FullTextError) and missing.reason == "HTTP 404 Not Found"


async def test_links_that_are_not_http_are_refused(fetcher: Fetcher) -> None:
    result = await fetch_full_text(fetcher, "file:///etc/passwd", allow_private=True)

    assert isinstance(result, FullTextError)
    assert result.reason == "unsupported URL scheme 'file' (expected http or https)"


@pytest.mark.parametrize(
    ("address", "problem"),
    [
        ("127.0.0.1", "a loopback address"),
        ("::1", "a loopback address"),
        ("10.1.2.3", "a private address"),
        ("192.168.0.10", "a private address"),
        ("fd12:3456::1", "a private address"),
        ("169.254.10.1", "a link-local address"),
        ("fe80::1", "a link-local address"),
        ("169.254.169.254", "a cloud metadata address"),
        ("fd00:ec2::254", "a cloud metadata address"),
        ("224.0.0.1", "a multicast address"),
        ("ff02::1", "a multicast address"),
        ("0.0.0.0", "an unspecified address"),
        ("240.0.0.1", "a reserved address"),
        ("100.64.0.1", "not a public address"),
        ("::ffff:127.0.0.1", "a loopback address (inside ::ffff:7f00:1)"),
        ("64:ff9b::a00:1", "a private address (inside 64:ff9b::a00:1)"),
        ("2002:a00:1::1", "a private address (inside 2002:a00:1::1)"),
        ("93.184.215.14", None),
        ("2606:4700:4700::1111", None),
    ],
)
def test_which_addresses_a_feed_link_may_reach(address: str, problem: str | None) -> None:
    assert address_problem(ipaddress.ip_address(address)) == problem
