"""Minutes count: a feed is polled when it is due, and its alerts leave as soon as it is stored."""

from __future__ import annotations

from itertools import pairwise

from tests.daemon.stories import BAKERY, BORDER
from tests.support.daemon import Setup, Watcher
from tests.support.feeds import RSS_TYPE, FeedSite, rss
from tests.support.httpserver import Reply
from tests.support.webhook import Webhook


def test_a_feed_is_polled_at_its_due_time_not_at_the_next_dispatcher_tick(
    setup: Setup, site: FeedSite
):
    # Due every 4 s, looked for every 3 s: waiting for the tick after the due time would poll
    # every 6 s.
    setup.feed("wire", site.feed("/wire", "Example Wire", [BAKERY]), interval="4s")
    setup.poll["tick"] = 3
    with Watcher(setup.write()) as daemon:
        daemon.expect(lambda: site.polls("/wire") >= 5, "five polls", within=40)
        assert daemon.stop() == 0
    # The first poll comes at start-up; from then on the feed is on its 4 s grid. The mean gap
    # is what tells the two apart (4 s against 6 s): one poll held up on a busy machine
    # lengthens one gap and shortens the next.
    times = site.poll_times("/wire")[1:5]
    mean_gap = (times[-1] - times[0]) / (len(times) - 1)
    assert 3.5 < mean_gap < 5.0, [round(b - a, 2) for a, b in pairwise(times)]


def test_an_alert_leaves_right_after_the_poll_that_found_it(
    setup: Setup, site: FeedSite, webhook: Webhook
):
    setup.feed("wire", site.feed("/wire", "Example Wire", [BAKERY]))
    setup.notifiers["desk-hook"] = {"urls": [webhook.url()]}
    setup.routes["medium"] = ["desk-hook"]
    setup.alerts["tick"] = "1h"  # the periodic outbox round never comes in this test
    with Watcher(setup.write()) as daemon:
        daemon.expect(lambda: site.polls("/wire") >= 1, "the first poll")
        site.publish("/wire", BORDER)
        daemon.expect(lambda: webhook.posts, "the alert at the webhook", within=15)
        assert daemon.stop() == 0
    [post] = webhook.posts
    assert BORDER.url in post.message


def test_polls_that_fall_behind_their_feeds_are_reported(setup: Setup, site: FeedSite):
    # One fetch at a time and a feed that takes 3 s to answer: the other feed, due every
    # second, waits behind it.
    setup.http["concurrency"] = 1
    setup.poll["late_after"] = "1s"
    slow = Reply(delay=3, headers=RSS_TYPE, body=rss("Slow Wire", [BAKERY]))
    setup.feed("slow", site.route("/slow", slow))
    setup.feed("wire", site.feed("/wire", "Example Wire", [BAKERY]))
    with Watcher(setup.write()) as daemon:
        daemon.wait_log("polls are falling behind: ", within=30)
        assert daemon.stop() == 0
    assert "raise [http] concurrency (1 at once)" in daemon.log
    # `watcher status` shows which feed is slow and which one waited for it.
    feeds = setup.feed_status()
    assert feeds["slow"].last_fetch_seconds is not None and feeds["slow"].last_fetch_seconds >= 3
    assert feeds["wire"].last_fetch_seconds is not None and feeds["wire"].last_fetch_seconds < 3
    assert feeds["wire"].last_late_seconds is not None and feeds["wire"].last_late_seconds > 1
