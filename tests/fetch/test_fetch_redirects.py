"""Redirects: counted, loops caught, and only permanent moves reported as such."""

from __future__ import annotations

from tests.support.httpserver import LoopbackServer, Reply
from tests.support.tls import PrivateCA
from watcher.feeds.fetch import Fetcher, Outcome
from watcher.feeds.route import Route

FEED = Reply(headers={"Content-Type": "application/atom+xml"}, body=b"<feed/>")


def _chain(server: LoopbackServer, statuses: list[int]) -> str:
    """/hop0 → /hop1 → … → /feed with the given statuses; returns the first URL."""
    for number, status in enumerate(statuses):
        following = f"/hop{number + 1}" if number + 1 < len(statuses) else "/feed"
        server.route(f"/hop{number}", Reply.redirect(following, status=status))
    server.route("/feed", FEED)
    return server.url("/hop0")


async def test_a_redirect_loop_is_reported_with_its_path(
    server: LoopbackServer, fetcher: Fetcher
) -> None:
    server.route("/a", Reply.redirect("/b"))
    server.route("/b", Reply.redirect(server.url("/a")))

    result = await fetcher.fetch(server.url("/a"))

    assert result.outcome is Outcome.FAILED
    assert result.error == (
        f"redirect loop: {server.url('/a')} → {server.url('/b')} → {server.url('/a')}"
    )


async def test_more_than_five_redirects_fail_and_five_are_followed(
    server: LoopbackServer, fetcher: Fetcher
) -> None:
    six = await fetcher.fetch(_chain(server, [302] * 6))
    five = await fetcher.fetch(_chain(server, [302] * 5))

    assert six.error == "too many redirects (>5)"
    assert five.outcome is Outcome.FETCHED and five.body == b"<feed/>"
    assert five.final_url == server.url("/feed")


async def test_only_an_all_permanent_chain_moves_the_feed(
    server: LoopbackServer, fetcher: Fetcher
) -> None:
    moved_301 = await fetcher.fetch(_chain(server, [301, 301]))
    moved_308 = await fetcher.fetch(_chain(server, [308]))
    temporary = await fetcher.fetch(_chain(server, [302]))
    mixed = await fetcher.fetch(_chain(server, [301, 307]))

    assert moved_301.permanent_redirect_to == server.url("/feed")
    assert moved_308.permanent_redirect_to == server.url("/feed")
    assert temporary.permanent_redirect_to is None
    assert mixed.permanent_redirect_to is None
    assert temporary.final_url == mixed.final_url == server.url("/feed")


async def test_a_permanent_redirect_to_a_broken_url_does_not_move_the_feed(
    server: LoopbackServer, fetcher: Fetcher
) -> None:
    server.route("/old", Reply.redirect("/missing", status=301))

    result = await fetcher.fetch(server.url("/old"))

    assert result.error == "HTTP 404 Not Found"
    assert result.permanent_redirect_to is None


async def test_a_redirect_to_another_host_is_followed(
    server: LoopbackServer, fetcher: Fetcher
) -> None:
    server.route("/moved", Reply.redirect(server.url("/feed", host="localhost"), status=307))
    server.route("/feed", FEED)

    result = await fetcher.fetch(server.url("/moved"))

    assert result.outcome is Outcome.FETCHED
    assert result.final_url == server.url("/feed", host="localhost")


async def test_broken_redirects_say_what_is_wrong(server: LoopbackServer, fetcher: Fetcher) -> None:
    server.route("/nowhere", Reply(status=302))
    server.route("/ftp", Reply.redirect("ftp://files.example.org/feed.xml"))

    nowhere = await fetcher.fetch(server.url("/nowhere"))
    ftp = await fetcher.fetch(server.url("/ftp"))

    assert nowhere.error == "HTTP 302 Found without a Location header"
    assert ftp.error == "redirect to a 'ftp' URL refused"


async def test_an_https_feed_is_never_moved_or_fetched_over_plain_http(
    server: LoopbackServer, private_ca: PrivateCA
) -> None:
    server.route("/feed", FEED)
    with LoopbackServer(tls=private_ca.server_context()) as secure:
        secure.route("/feed", Reply.redirect(server.url("/feed"), status=301))
        secure.route("/hop", Reply.redirect("/moved", status=301))  # https → https is fine
        secure.route("/moved", FEED)
        async with Fetcher() as fetcher:
            route = Route(ca_files=(str(private_ca.pem),))
            downgraded = await fetcher.fetch(secure.url("/feed"), route=route)
            moved = await fetcher.fetch(secure.url("/hop"), route=route)

    assert downgraded.outcome is Outcome.FAILED
    assert downgraded.error == (
        f"redirect from https to plain http refused ({server.url('/feed')}); if the feed is "
        "really only served over http, configure its http:// URL"
    )
    assert downgraded.permanent_redirect_to is None
    assert server.requests_to("/feed") == []
    assert moved.outcome is Outcome.FETCHED


async def test_a_feed_configured_as_http_may_be_sent_on_over_http(
    server: LoopbackServer, fetcher: Fetcher
) -> None:
    url = _chain(server, [301])
    assert (await fetcher.fetch(url)).outcome is Outcome.FETCHED
