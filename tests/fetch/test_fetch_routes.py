"""A feed's route: its own proxy (a real proxy.py on loopback) and CA files (HTTPS loopback
servers with a private CA, or a certificate that signs itself)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fetch.conftest import TEST_LIMITS
from tests.fetch.test_fulltext import HTML, PAGE, PARAGRAPHS, loopback_counts_as_public
from tests.support.httpserver import LoopbackServer, Reply
from tests.support.proxy import ForwardProxy, SocksProxy
from tests.support.sockets import free_port
from tests.support.tls import PrivateCA, SelfSigned
from tests.support.waiting import wait_for, wait_for_async
from watcher.feeds.fetch import Fetcher, Outcome
from watcher.feeds.fulltext import FullTextError, fetch_full_text
from watcher.feeds.route import DIRECT, Route

RSS = b"<?xml version='1.0'?><rss version='2.0'><channel><title>Intranet</title></channel></rss>"
pytestmark = pytest.mark.usefixtures("no_environment_proxy")


def _serving_rss(server: LoopbackServer) -> LoopbackServer:
    server.route("/feed", Reply(headers={"Content-Type": "application/rss+xml"}, body=RSS))
    return server


@pytest.fixture
def https_server(private_ca: PrivateCA) -> Iterator[LoopbackServer]:
    with LoopbackServer(tls=private_ca.server_context()) as running:
        yield _serving_rss(running)


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer() as running:
        yield _serving_rss(running)


# -- certificates ---------------------------------------------------------------------------------


async def test_a_server_signed_by_a_private_ca_is_refused_without_its_ca_file(
    https_server: LoopbackServer,
) -> None:
    async with Fetcher(TEST_LIMITS) as fetcher:
        result = await fetcher.fetch(https_server.url("/feed"))

    assert result.outcome is Outcome.FAILED
    assert result.error == (
        "TLS error: certificate verify failed: unable to get local issuer certificate (a "
        "server you trust? give its CA's certificate, or its own, as the `ca_file`)"
    )


async def test_the_feeds_ca_file_makes_the_private_ca_trusted(
    https_server: LoopbackServer, private_ca: PrivateCA
) -> None:
    async with Fetcher(TEST_LIMITS) as fetcher:
        result = await fetcher.fetch(
            https_server.url("/feed"), route=Route(ca_files=(str(private_ca.pem),))
        )
        # The route is the feed's alone: the shared client still refuses that CA.
        other = await fetcher.fetch(https_server.url("/feed"))

    assert result.outcome is Outcome.FETCHED
    assert result.body == RSS
    assert other.outcome is Outcome.FAILED


async def test_a_self_signed_server_is_trusted_by_giving_its_own_certificate(
    tmp_path: Path,
) -> None:
    certificate = SelfSigned(tmp_path)
    with _serving_rss(LoopbackServer(tls=certificate.server_context())) as server:
        async with Fetcher(TEST_LIMITS) as fetcher:
            refused = await fetcher.fetch(server.url("/feed"))
            pinned = await fetcher.fetch(
                server.url("/feed"), route=Route(ca_files=(str(certificate.pem),))
            )

    assert refused.error == (
        "TLS error: certificate verify failed: self-signed certificate (a server you trust? "
        "give its CA's certificate, or its own, as the `ca_file`)"
    )
    assert pinned.outcome is Outcome.FETCHED


async def test_ca_files_add_to_the_environments_bundle_instead_of_replacing_it(
    https_server: LoopbackServer,
    private_ca: PrivateCA,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    other_ca = PrivateCA(tmp_path, "other-ca")
    monkeypatch.setenv("SSL_CERT_FILE", str(other_ca.pem))
    with LoopbackServer(tls=other_ca.server_context()) as other_server:
        _serving_rss(other_server)
        async with Fetcher(TEST_LIMITS) as fetcher:
            # The environment's bundle holds only the other CA; the route adds the first.
            route = Route(ca_files=(str(private_ca.pem),))
            by_environment = await fetcher.fetch(other_server.url("/feed"))
            both = [
                await fetcher.fetch(s.url("/feed"), route=route)
                for s in (other_server, https_server)
            ]

    assert by_environment.outcome is Outcome.FETCHED
    assert [result.outcome for result in both] == [Outcome.FETCHED, Outcome.FETCHED]


async def test_a_ca_file_gone_since_start_up_fails_that_fetch_naming_the_file(
    https_server: LoopbackServer, tmp_path: Path
) -> None:
    missing = tmp_path / "removed.pem"
    async with Fetcher(TEST_LIMITS) as fetcher:
        result = await fetcher.fetch(
            https_server.url("/feed"), route=Route(ca_files=(str(missing),))
        )

    assert result.outcome is Outcome.FAILED
    assert result.error == f"CA file {missing}: no such file"


# -- clients of routes no longer taken -------------------------------------------------------------


async def test_a_route_no_fetch_takes_any_more_has_its_connections_closed(
    https_server: LoopbackServer, server: LoopbackServer, private_ca: PrivateCA
) -> None:
    # As after a reload that changed the feed's CA file, or a rotated proxy password.
    old_route = Route(ca_files=(str(private_ca.pem),))
    async with Fetcher(TEST_LIMITS, close_idle_after=0.2) as fetcher:
        before = await fetcher.fetch(https_server.url("/feed"), route=old_route)
        kept_alive = https_server.open_connections
        await asyncio.sleep(0.3)
        await fetcher.fetch(server.url("/feed"))
        closed = await wait_for_async(lambda: https_server.open_connections == 0)
        again = await fetcher.fetch(https_server.url("/feed"), route=old_route)

    assert before.outcome is Outcome.FETCHED
    assert kept_alive == 1
    assert closed
    assert again.outcome is Outcome.FETCHED  # taken again, the route opens anew


async def test_a_client_is_never_closed_under_a_fetch_it_is_serving(
    https_server: LoopbackServer, server: LoopbackServer, private_ca: PrivateCA
) -> None:
    https_server.route("/slow", Reply(delay=0.5, body=RSS))
    route = Route(ca_files=(str(private_ca.pem),))
    async with Fetcher(TEST_LIMITS, close_idle_after=0.0) as fetcher:
        slow = asyncio.create_task(fetcher.fetch(https_server.url("/slow"), route=route))
        assert await wait_for_async(lambda: https_server.requests_to("/slow"))
        # Every fetch closes the clients idle for 0 s; the slow one's is busy.
        others = [await fetcher.fetch(server.url("/feed")) for _ in range(3)]
        result = await slow

    assert [other.outcome for other in others] == [Outcome.FETCHED] * 3
    assert result.outcome is Outcome.FETCHED
    assert result.body == RSS


# -- proxies --------------------------------------------------------------------------------------


async def test_a_feed_goes_through_its_proxy_with_the_credentials_of_its_url(
    server: LoopbackServer, proxy: ForwardProxy
) -> None:
    async with Fetcher(TEST_LIMITS) as fetcher:
        result = await fetcher.fetch(server.url("/feed"), route=Route(proxy=proxy.url()))

    assert result.outcome is Outcome.FETCHED
    assert result.body == RSS
    assert wait_for(lambda: proxy.saw(f"GET 127.0.0.1:{server.port}/feed"))


async def test_wrong_proxy_credentials_say_so_without_echoing_the_password(
    server: LoopbackServer, https_server: LoopbackServer, proxy: ForwardProxy, private_ca: PrivateCA
) -> None:
    route = Route(proxy=proxy.url(password="wrong-pa55"), ca_files=(str(private_ca.pem),))
    async with Fetcher(TEST_LIMITS) as fetcher:
        plain = await fetcher.fetch(server.url("/feed"), route=route)
        tunnelled = await fetcher.fetch(https_server.url("/feed"), route=route)

    hint = "(the proxy wants credentials: give them in its URL"
    assert plain.error is not None and plain.error.startswith(
        f"HTTP 407 Proxy Authentication Required {hint}"
    )
    assert tunnelled.error is not None and tunnelled.error.startswith(
        f"proxy 127.0.0.1:{proxy.port} refused the request: 407 Proxy Authentication Required "
        + hint
    )
    assert "wrong-pa55" not in plain.error + tunnelled.error
    assert server.requests == [] and https_server.requests == []


async def test_an_https_feed_tunnels_through_the_proxy_with_its_ca_file(
    https_server: LoopbackServer, proxy: ForwardProxy, private_ca: PrivateCA
) -> None:
    route = Route(proxy=proxy.url(), ca_files=(str(private_ca.pem),))
    async with Fetcher(TEST_LIMITS) as fetcher:
        result = await fetcher.fetch(https_server.url("/feed"), route=route)

    assert result.outcome is Outcome.FETCHED
    assert wait_for(lambda: proxy.saw(f"CONNECT 127.0.0.1:{https_server.port}"))


async def test_a_proxy_that_is_down_is_named_as_the_refusing_party(server: LoopbackServer) -> None:
    port = free_port()
    async with Fetcher(TEST_LIMITS) as fetcher:
        result = await fetcher.fetch(
            server.url("/feed"), route=Route(proxy=f"http://127.0.0.1:{port}")
        )

    assert result.error == f"connection refused by proxy 127.0.0.1:{port}"
    assert server.requests == []


async def test_the_environments_proxy_applies_unless_the_feed_says_direct(
    server: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = free_port()
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{port}")
    async with Fetcher(TEST_LIMITS) as fetcher:
        by_environment = await fetcher.fetch(server.url("/feed"))
        direct = await fetcher.fetch(server.url("/feed"), route=Route(proxy=DIRECT))

    assert by_environment.error == f"connection refused by proxy 127.0.0.1:{port}"
    assert direct.outcome is Outcome.FETCHED


async def test_a_feed_goes_through_a_socks5_proxy_such_as_tor(
    server: LoopbackServer, https_server: LoopbackServer, private_ca: PrivateCA, tmp_path: Path
) -> None:
    with SocksProxy(tmp_path) as socks:
        async with Fetcher(TEST_LIMITS) as fetcher:
            plain = await fetcher.fetch(server.url("/feed"), route=Route(proxy=socks.url()))
            tunnelled = await fetcher.fetch(
                https_server.url("/feed"),
                route=Route(proxy=socks.url(), ca_files=(str(private_ca.pem),)),
            )
            refused = await fetcher.fetch(
                server.url("/feed"), route=Route(proxy=socks.url(password="wrong-pa55"))
            )

        assert [plain.outcome, tunnelled.outcome] == [Outcome.FETCHED, Outcome.FETCHED]
        assert wait_for(lambda: socks.saw(f"-> 127.0.0.1:{server.port}"))
        assert socks.saw(f"-> 127.0.0.1:{https_server.port}")
    assert refused.error == (
        f"proxy 127.0.0.1:{socks.port} refused the request: Invalid username/password"
    )
    assert len(server.requests) == 1


# -- article pages (full text) --------------------------------------------------------------------


def _serving_article(server: LoopbackServer) -> str:
    server.route("/article", Reply(headers=HTML, body=PAGE))
    server.route("/to-metadata", Reply.redirect("http://169.254.169.254/latest/meta-data/"))
    return server.url("/article")


async def test_article_pages_go_through_the_feeds_own_proxy(
    server: LoopbackServer, proxy: ForwardProxy
) -> None:
    url = _serving_article(server)
    async with Fetcher(TEST_LIMITS, address_check=loopback_counts_as_public) as fetcher:
        paragraphs = await fetch_full_text(fetcher, url, route=Route(proxy=proxy.url()))

    assert not isinstance(paragraphs, FullTextError), paragraphs
    assert paragraphs[-3:] == PARAGRAPHS
    assert wait_for(lambda: proxy.saw(f"GET 127.0.0.1:{server.port}/article"))


async def test_through_a_proxy_the_guard_still_refuses_hosts_written_as_addresses(
    server: LoopbackServer, proxy: ForwardProxy
) -> None:
    url = _serving_article(server)
    route = Route(proxy=proxy.url())
    async with Fetcher(TEST_LIMITS) as fetcher:
        loopback = await fetch_full_text(fetcher, url, route=route)
        named = await fetch_full_text(fetcher, url.replace("127.0.0.1", "localhost"), route=route)
    async with Fetcher(TEST_LIMITS, address_check=loopback_counts_as_public) as fetcher:
        redirected = await fetch_full_text(fetcher, server.url("/to-metadata"), route=route)

    assert [str(result) for result in (loopback, named, redirected)] == [
        f"{url}: refused to connect to 127.0.0.1: 127.0.0.1 is a loopback address",
        f"{url.replace('127.0.0.1', 'localhost')}: refused to connect to localhost: a loopback "
        "name",
        f"{server.url('/to-metadata')}: refused to connect to 169.254.169.254: 169.254.169.254 "
        "is a cloud metadata address",
    ]
    assert [r.target for r in server.requests] == ["/to-metadata"]


async def test_article_pages_never_take_the_environments_proxy(
    server: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{free_port()}")
    url = _serving_article(server)
    async with Fetcher(TEST_LIMITS, address_check=loopback_counts_as_public) as fetcher:
        paragraphs = await fetch_full_text(fetcher, url)

    assert not isinstance(paragraphs, FullTextError), paragraphs
    assert paragraphs[-3:] == PARAGRAPHS


def test_a_route_never_shows_its_proxy_password() -> None:
    route = Route(proxy="http://reader:hunter2@proxy.corp:3128", ca_files=("/etc/ca.pem",))

    assert repr(route) == ("Route(proxy='http://***@proxy.corp:3128', ca_files=('/etc/ca.pem',))")
