"""Hostile or broken bodies: every one stopped with a clear reason, never parsed half-read."""

from __future__ import annotations

import tracemalloc

from tests.support.httpserver import LoopbackServer, Reply, compress, zeros
from watcher.feeds.fetch import Fetcher, FetchResult, HttpLimits, Outcome

GIGABYTE = 1 << 30
RSS = b'<rss version="2.0"><channel><title>Desk</title></channel></rss>\n' * 20


async def fetch_traced(url: str) -> tuple[FetchResult, int]:
    """The result of fetching `url` with a 10 MB decoded cap, and the peak traced memory."""
    tracemalloc.start()
    try:
        async with Fetcher(HttpLimits(max_decoded_bytes=10_000_000, deadline=10)) as fetcher:
            result = await fetcher.fetch(url)
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


async def test_a_decompression_bomb_is_stopped_at_the_decoded_cap_in_bounded_memory(
    server: LoopbackServer,
) -> None:
    # 1 GiB of zeros, gzipped by the server as the client reads: about 1 MB on the wire.
    server.route("/bomb", Reply(body=zeros(GIGABYTE), encoding="gzip"))
    result, peak = await fetch_traced(server.url("/bomb"))

    assert result.outcome is Outcome.FAILED
    assert result.error == "decompressed body exceeds 10 MB"
    assert result.status == 200 and result.body is None
    assert peak < 64_000_000, f"peak traced memory {peak} bytes"


async def test_a_bomb_arriving_in_one_piece_is_still_inflated_in_bounded_steps(
    server: LoopbackServer,
) -> None:
    # 200 MiB of zeros compressed ahead: about 200 kB, which the client reads in one go. Only
    # an inflater with an output cap per step stays small on it.
    bomb = compress(bytes(200 << 20), "gzip")
    server.route("/bomb", Reply(headers={"Content-Encoding": "gzip"}, body=bomb))
    result, peak = await fetch_traced(server.url("/bomb"))

    assert result.error == "decompressed body exceeds 10 MB"
    assert peak < 32_000_000, f"peak traced memory {peak} bytes"


async def test_a_gigabyte_body_is_cut_at_the_wire_cap(
    server: LoopbackServer, fetcher: Fetcher
) -> None:
    server.route("/huge", Reply(body=zeros(GIGABYTE)))  # chunked: no length announced

    result = await fetcher.fetch(server.url("/huge"))

    assert result.outcome is Outcome.FAILED
    assert result.error == "body exceeds 10 MB"
    assert result.body is None


async def test_an_announced_gigabyte_is_refused_before_reading(
    server: LoopbackServer, fetcher: Fetcher
) -> None:
    server.route("/huge", Reply(body=zeros(GIGABYTE), content_length=GIGABYTE))

    result = await fetcher.fetch(server.url("/huge"))

    assert result.error == f"body exceeds 10 MB (Content-Length {GIGABYTE})"


async def test_a_server_dripping_one_byte_a_second_is_cut_at_the_deadline(
    server: LoopbackServer, fetcher: Fetcher
) -> None:
    # Every byte arrives well within the read timeout; only the overall deadline (2 s) helps.
    server.route("/drip", Reply(body=RSS, drip=1.0))

    result = await fetcher.fetch(server.url("/drip"))

    assert result.outcome is Outcome.FAILED
    assert result.error == "timed out after 2 s"
    assert result.body is None
    assert result.elapsed < 10  # the drip itself would take over 20 minutes


async def test_a_server_that_never_answers_is_cut_at_the_deadline(
    server: LoopbackServer,
) -> None:
    server.route("/hang", Reply(hang=True))

    async with Fetcher(HttpLimits(deadline=1, read_timeout=30)) as fetcher:
        result = await fetcher.fetch(server.url("/hang"))

    assert result.error == "timed out after 1 s"


async def test_silence_longer_than_the_read_timeout_is_reported_as_such(
    server: LoopbackServer,
) -> None:
    server.route("/hang", Reply(hang=True))

    async with Fetcher(HttpLimits(deadline=10, read_timeout=0.5)) as fetcher:
        result = await fetcher.fetch(server.url("/hang"))

    assert result.error == "read timed out (no data for 0.5 s)"


async def test_a_body_cut_short_is_an_error_not_a_shorter_feed(
    server: LoopbackServer, fetcher: Fetcher
) -> None:
    server.route("/short", Reply(body=RSS[:100], content_length=len(RSS)))
    server.route("/short-gzip", Reply(headers={"Content-Encoding": "gzip"}, body=RSS))
    server.route(
        "/cut-gzip",
        Reply(headers={"Content-Encoding": "gzip"}, body=compress(RSS, "gzip")[:-12]),
    )

    short = await fetcher.fetch(server.url("/short"))
    not_gzip = await fetcher.fetch(server.url("/short-gzip"))
    cut = await fetcher.fetch(server.url("/cut-gzip"))

    assert short.error == "connection closed before the body was complete"
    assert not_gzip.error is not None and not_gzip.error.startswith("corrupt gzip body")
    assert cut.error == "the gzip body is truncated"
    assert short.body is not_gzip.body is cut.body is None


async def test_an_encoding_we_did_not_ask_for_is_refused(
    server: LoopbackServer, fetcher: Fetcher
) -> None:
    server.route("/br", Reply(headers={"Content-Encoding": "br"}, body=b"\x1b\x00\x00"))

    result = await fetcher.fetch(server.url("/br"))

    assert result.error == "unsupported Content-Encoding 'br' (asked for gzip, deflate)"
