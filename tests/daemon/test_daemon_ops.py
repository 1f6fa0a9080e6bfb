"""The ops notifier hears when a feed breaks and when it recovers (DESIGN §9)."""

from __future__ import annotations

from tests.daemon.stories import BAKERY
from tests.support.daemon import Setup, Watcher
from tests.support.feeds import FeedSite
from tests.support.httpserver import Reply
from tests.support.webhook import Webhook


def test_ops_notifier_hears_broken_and_recovered_feeds(
    setup: Setup, site: FeedSite, webhook: Webhook
) -> None:
    url = site.route("/flaky", Reply(status=500))
    setup.feed("flaky", url)
    setup.poll["broken_after_errors"] = 2
    setup.notifiers["ops"] = {"urls": [webhook.url("/ops")]}
    setup.alerts["ops_notifier"] = "ops"

    with Watcher(setup.write()).running() as daemon:
        [broken] = daemon.expect(
            lambda: webhook.posts_to("/ops"), "the broken-feed message", within=40
        )
        assert "feed flaky is broken: HTTP 500" in broken.title
        assert "2 errors in a row" in broken.message
        site.feed("/flaky", "Flaky", [BAKERY])  # the server is fixed
        daemon.expect(
            lambda: [p for p in webhook.posts_to("/ops") if "recovered" in p.title],
            "the recovery message",
            within=120,
        )
        assert daemon.stop() == 0
    titles = [p.title for p in webhook.posts_to("/ops")]
    assert sum("is broken" in t for t in titles) == 1
