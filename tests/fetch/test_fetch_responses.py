"""What a fetch returns for ordinary answers: bodies, validators, encodings, headers sent."""

from __future__ import annotations

import asyncio
import hashlib

from tests.support.httpserver import LoopbackServer, Reply, SeenRequest, compress
from watcher.feeds.fetch import Fetcher, HttpLimits, Outcome

RSS = (
    b'<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel><title>Desk</title>'
    b"<item><title>Border crossings reopen</title><link>https://news.example.org/a/1</link>"
    b"</item></channel></rss>\n"
)
RSS_TYPE = {"Content-Type": "application/rss+xml; charset=utf-8"}
ETAG = 'W/"feed-v1"'
LAST_MODIFIED = "Tue, 20 May 2025 05:00:00 GMT"


async def test_a_200_returns_the_body_its_hash_and_lower_cased_headers(
    server: LoopbackServer, fetcher: Fetcher
) -> None:
    server.route("/rss", Reply(headers={**RSS_TYPE, "X-Feed-Generator": "desk"}, body=RSS))

    result = await fetcher.fetch(server.url("/rss"))

    assert result.outcome is Outcome.FETCHED and result.ok
    assert result.status == 200
    assert result.body == RSS
    assert result.body_hash == hashlib.sha256(RSS).hexdigest()
    assert result.headers["content-type"] == "application/rss+xml; charset=utf-8"
    assert result.headers["x-feed-generator"] == "desk"
    assert result.url == result.final_url == server.url("/rss")
    assert result.error is None and result.permanent_redirect_to is None


def _conditional(request: SeenRequest) -> Reply:
    validators = {"ETag": ETAG, "Last-Modified": LAST_MODIFIED}
    if request.header("if-none-match") == ETAG:
        return Reply(status=304, headers=validators)
    return Reply(headers={**RSS_TYPE, **validators}, body=RSS)


async def test_validators_are_kept_as_received_and_sent_back_verbatim(
    server: LoopbackServer, fetcher: Fetcher
) -> None:
    server.route("/rss", _conditional)

    first = await fetcher.fetch(server.url("/rss"))
    second = await fetcher.fetch(
        server.url("/rss"), etag=first.etag, last_modified=first.last_modified
    )

    assert (first.etag, first.last_modified) == (ETAG, LAST_MODIFIED)
    assert second.outcome is Outcome.NOT_MODIFIED and second.not_modified and second.ok
    assert second.status == 304 and second.body is None
    conditional = server.requests_to("/rss")[1]
    assert conditional.header("if-none-match") == ETAG
    assert conditional.header("if-modified-since") == LAST_MODIFIED
    assert server.requests_to("/rss")[0].header("if-none-match") is None


async def test_a_body_that_hashes_as_before_is_unchanged_and_not_returned(
    server: LoopbackServer, fetcher: Fetcher
) -> None:
    server.route("/rss", Reply(headers=RSS_TYPE, body=RSS))
    first = await fetcher.fetch(server.url("/rss"))

    again = await fetcher.fetch(server.url("/rss"), previous_body_hash=first.body_hash)
    changed = await fetcher.fetch(server.url("/rss"), previous_body_hash="0" * 64)

    assert again.outcome is Outcome.UNCHANGED and again.unchanged and again.ok
    assert again.body is None and again.body_hash == first.body_hash
    assert changed.outcome is Outcome.FETCHED and changed.body == RSS


async def test_gzip_and_both_deflate_forms_are_decoded(
    server: LoopbackServer, fetcher: Fetcher
) -> None:
    for encoding in ("gzip", "deflate", "raw-deflate"):
        server.route(f"/{encoding}", Reply(headers=RSS_TYPE, body=RSS * 50, encoding=encoding))

    for encoding in ("gzip", "deflate", "raw-deflate"):
        result = await fetcher.fetch(server.url(f"/{encoding}"))
        assert result.outcome is Outcome.FETCHED, (encoding, result.error)
        assert result.body == RSS * 50
        assert result.body_hash == hashlib.sha256(RSS * 50).hexdigest()


async def test_a_gzip_body_of_several_members_is_decoded_whole(
    server: LoopbackServer, fetcher: Fetcher
) -> None:
    members = compress(RSS[:50], "gzip") + compress(RSS[50:], "gzip")
    server.route("/rss", Reply(headers={**RSS_TYPE, "Content-Encoding": "gzip"}, body=members))

    result = await fetcher.fetch(server.url("/rss"))

    assert result.body == RSS


async def test_the_user_agent_and_accepted_encodings_are_sent(server: LoopbackServer) -> None:
    server.route("/rss", Reply(headers=RSS_TYPE, body=RSS))

    async with Fetcher(HttpLimits(user_agent="desk-monitor/2 (+mailto:ops@example.org)")) as f:
        await f.fetch(server.url("/rss"))
    async with Fetcher() as default:
        await default.fetch(server.url("/rss"))

    custom, standard = server.requests_to("/rss")
    assert custom.header("user-agent") == "desk-monitor/2 (+mailto:ops@example.org)"
    assert standard.header("user-agent") == "watcher/0.1 (+https://example.invalid/watcher)"
    assert standard.header("accept-encoding") == "gzip, deflate"
    assert "application/rss+xml" in (standard.header("accept") or "")


async def test_cookies_a_server_sets_are_never_sent_back(
    server: LoopbackServer, fetcher: Fetcher
) -> None:
    server.route("/rss", Reply(headers={**RSS_TYPE, "Set-Cookie": "visitor=42; Path=/"}, body=RSS))

    await fetcher.fetch(server.url("/rss"))
    await fetcher.fetch(server.url("/rss"))

    assert [request.header("cookie") for request in server.requests_to("/rss")] == [None, None]


async def test_a_keep_alive_connection_is_reused_by_the_next_fetch(
    server: LoopbackServer, fetcher: Fetcher
) -> None:
    server.route("/rss", Reply(headers=RSS_TYPE, body=RSS))

    await fetcher.fetch(server.url("/rss"))
    await fetcher.fetch(server.url("/rss"))

    first, second = server.requests_to("/rss")
    assert first.connection == second.connection


async def test_a_kept_connection_the_server_has_since_closed_is_not_used_again(
    fetcher: Fetcher,
) -> None:
    connections = 0

    async def answer_once(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nrss")
        await writer.drain()
        writer.close()  # no "Connection: close" first: the client has to notice by itself

    listener = await asyncio.start_server(answer_once, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{listener.sockets[0].getsockname()[1]}/rss"
    async with listener:
        first = await fetcher.fetch(url)
        await asyncio.sleep(0.1)  # the server's FIN arrives while the connection sits idle
        second = await fetcher.fetch(url)

    assert first.outcome is second.outcome is Outcome.FETCHED, second.error
    assert connections == 2
