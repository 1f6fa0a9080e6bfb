"""HTTP errors, network errors and Retry-After: a clear one-line reason, never an exception."""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
import socket

import pytest

from tests.support.httpserver import LoopbackServer, Reply
from watcher.feeds.fetch import Fetcher, HttpLimits, Outcome


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (404, "HTTP 404 Not Found"),
        (410, "HTTP 410 Gone"),
        (500, "HTTP 500 Internal Server Error"),
    ],
)
async def test_http_errors_name_the_status(
    server: LoopbackServer, fetcher: Fetcher, status: int, error: str
) -> None:
    server.route("/feed", Reply(status=status, body=b"<html>nope</html>"))

    result = await fetcher.fetch(server.url("/feed"))

    assert result.outcome is Outcome.FAILED and not result.ok
    assert (result.status, result.error) == (status, error)
    assert result.body is None
    assert result.gone is (status == 410)


async def test_an_unknown_host_is_a_dns_error(fetcher: Fetcher) -> None:
    result = await fetcher.fetch("http://feeds.nothing-here.invalid/rss")

    assert result.outcome is Outcome.FAILED and result.status is None
    assert result.error is not None
    assert result.error.startswith("DNS lookup failed: feeds.nothing-here.invalid (")


async def test_https_to_a_plain_http_port_is_a_tls_error(
    server: LoopbackServer, fetcher: Fetcher
) -> None:
    result = await fetcher.fetch(server.url("/feed").replace("http://", "https://"))

    assert result.outcome is Outcome.FAILED
    assert result.error is not None and result.error.startswith("TLS error: ")


async def test_a_closed_port_is_a_refused_connection(fetcher: Fetcher) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    result = await fetcher.fetch(f"http://127.0.0.1:{port}/rss")

    assert result.error == f"connection refused by 127.0.0.1:{port}"


@pytest.mark.parametrize(
    ("url", "error"),
    [
        (
            "ftp://files.example.org/feed.xml",
            "unsupported URL scheme 'ftp' (expected http or https)",
        ),
        ("file:///etc/passwd", "unsupported URL scheme 'file' (expected http or https)"),
        ("feeds.example.org/rss", "unsupported URL scheme '' (expected http or https)"),
    ],
)
async def test_urls_that_are_not_http_are_refused(fetcher: Fetcher, url: str, error: str) -> None:
    result = await fetcher.fetch(url)

    assert result.error == error


def _http_date(when: dt.datetime) -> str:
    return email.utils.format_datetime(when, usegmt=True)


SERVER_NOW = dt.datetime(2025, 5, 20, 5, 30, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("status", "retry_after", "expected"),
    [
        (429, "120", 120.0),
        (503, "45", 45.0),
        (429, _http_date(SERVER_NOW + dt.timedelta(minutes=10)), 600.0),
        (503, _http_date(SERVER_NOW - dt.timedelta(minutes=10)), 0.0),
        (429, "99999999", 3600.0),  # clamped to max_retry_after
        (503, _http_date(SERVER_NOW + dt.timedelta(days=400)), 3600.0),
        (429, "soon", None),
    ],
)
async def test_retry_after_is_read_in_both_forms_and_clamped(
    server: LoopbackServer, status: int, retry_after: str, expected: float | None
) -> None:
    # The date form is measured against the server's own Date header.
    headers = {"Retry-After": retry_after, "Date": _http_date(SERVER_NOW)}
    server.route("/feed", Reply(status=status, headers=headers))

    async with Fetcher(HttpLimits(max_retry_after=3600)) as fetcher:
        result = await fetcher.fetch(server.url("/feed"))

    assert result.outcome is Outcome.FAILED
    assert result.retry_after == expected
    assert result.error is not None and result.error.startswith(f"HTTP {status} ")
    if expected is not None:
        assert result.error.endswith(f"; retry after {expected:.0f} s")


async def test_retry_after_pauses_the_whole_host_but_not_other_hosts(
    server: LoopbackServer, fetcher: Fetcher
) -> None:
    server.route("/busy", Reply(status=429, headers={"Retry-After": "600"}))
    server.route("/other", Reply(body=b"<rss/>"))

    refused = await fetcher.fetch(server.url("/busy"))
    same_host = await fetcher.fetch(server.url("/other"))
    other_host = await fetcher.fetch(server.url("/other", host="localhost"))

    assert refused.retry_after == 600
    assert same_host.outcome is Outcome.DEFERRED and not same_host.ok
    assert same_host.retry_after is not None and 590 < same_host.retry_after <= 600
    assert same_host.error is not None and "answered HTTP 429 with Retry-After" in same_host.error
    assert other_host.outcome is Outcome.FETCHED
    assert [request.header("host") for request in server.requests_to("/other")] == [
        f"localhost:{server.port}"
    ]


async def test_a_host_is_fetched_again_once_its_cool_down_ends(
    server: LoopbackServer, fetcher: Fetcher
) -> None:
    server.route("/busy", Reply(status=503, headers={"Retry-After": "1"}))
    server.route("/other", Reply(body=b"<rss/>"))

    await fetcher.fetch(server.url("/busy"))
    during = await fetcher.fetch(server.url("/other"))
    await asyncio.sleep(1.1)
    after = await fetcher.fetch(server.url("/other"))

    assert during.outcome is Outcome.DEFERRED
    assert after.outcome is Outcome.FETCHED


async def test_at_most_per_host_fetches_reach_one_host_at_once(server: LoopbackServer) -> None:
    server.route("/slow", Reply(body=b"<rss/>", delay=0.3))

    async with Fetcher(HttpLimits(per_host=2, concurrency=20)) as fetcher:
        results = await asyncio.gather(*(fetcher.fetch(server.url("/slow")) for _ in range(6)))

    assert all(result.outcome is Outcome.FETCHED for result in results)
    assert server.peak_active == 2


async def test_the_response_time_leaves_out_the_wait_for_a_slot(server: LoopbackServer) -> None:
    # `watcher status` shows it per feed: a feed that queued behind a slow one is not slow.
    server.route("/slow", Reply(body=b"<rss/>", delay=0.5))

    async with Fetcher(HttpLimits(per_host=1, concurrency=20)) as fetcher:
        first, second = await asyncio.gather(*(fetcher.fetch(server.url("/slow")) for _ in "ab"))

    waited = max(first, second, key=lambda result: result.elapsed)
    assert waited.elapsed >= 1.0
    assert waited.response_seconds is not None and waited.response_seconds >= 0.5
    # The other fetch held the one slot for at least half a second of it.
    assert waited.elapsed - waited.response_seconds >= 0.45


async def test_the_global_limit_holds_across_hosts(server: LoopbackServer) -> None:
    server.route("/slow", Reply(body=b"<rss/>", delay=0.3))
    urls = [server.url("/slow", host=host) for host in ("127.0.0.1", "localhost") for _ in "abc"]

    async with Fetcher(HttpLimits(per_host=2, concurrency=3)) as fetcher:
        results = await asyncio.gather(*(fetcher.fetch(url) for url in urls))

    assert all(result.outcome is Outcome.FETCHED for result in results)
    assert server.peak_active == 3


async def test_a_fetch_waiting_for_a_global_slot_has_its_whole_deadline_left(
    server: LoopbackServer,
) -> None:
    # Each fetch alone takes 0.6 s of its 1 s deadline; the one that waits for the single slot
    # must not have spent its deadline waiting (1.2 s in all), even on a host of its own.
    server.route("/slow", Reply(body=b"<rss/>", delay=0.6))
    urls = [server.url("/slow", host=host) for host in ("127.0.0.1", "localhost")]

    async with Fetcher(HttpLimits(per_host=1, concurrency=1, deadline=1.0)) as fetcher:
        results = await asyncio.gather(*(fetcher.fetch(url) for url in urls))

    assert [(r.outcome, r.error) for r in results] == [(Outcome.FETCHED, None)] * 2
    assert server.peak_active == 1
