"""A story carried by several feeds alerts once per rule and notifier, naming every source."""

from __future__ import annotations

import dataclasses

from tests.daemon.stories import BAKERY, BORDER
from tests.support.daemon import Setup, Watcher, cli
from tests.support.feeds import FeedSite
from tests.support.webhook import Webhook

#: The same story under another outlet's guid (same link: one story).
BORDER_ELSEWHERE = dataclasses.replace(BORDER, guid="daily-77", link=BORDER.url)


def test_a_story_in_two_feeds_alerts_once_per_notifier_and_lists_both_sources(
    setup: Setup, site: FeedSite, webhook: Webhook
):
    setup.feed("wire", site.feed("/wire", "Example Wire", [BORDER]))
    setup.feed("daily", site.feed("/daily", "Daily Example", [BORDER_ELSEWHERE]))
    setup.poll["first_poll_alerts"] = 5
    setup.notifiers["desk"] = {"urls": [webhook.url("/desk")]}
    setup.notifiers["night-desk"] = {"urls": [webhook.url("/night")]}
    setup.routes["medium"] = ["desk", "night-desk"]
    config = str(setup.write())

    first = cli("run", "--once", "--config", config)
    assert first.returncode == 0, first.stderr
    again = cli("run", "--once", "--config", config)
    assert again.returncode == 0, again.stderr

    for path in ("/desk", "/night"):
        [post] = webhook.posts_to(path)
        assert post.title == f"[MEDIUM] Border security — {BORDER.title}"
        assert "Example Wire" in post.message and "Daily Example" in post.message
    assert len(webhook.posts) == 2


def test_a_story_reaching_a_second_feed_later_does_not_alert_again(
    setup: Setup, site: FeedSite, webhook: Webhook
):
    setup.feed("wire", site.feed("/wire", "Example Wire", [BAKERY]))
    setup.feed("daily", site.feed("/daily", "Daily Example", [BAKERY]))
    setup.notifiers["desk"] = {"urls": [webhook.url()]}
    setup.routes["medium"] = ["desk"]

    with Watcher(setup.write()) as daemon:
        daemon.expect(lambda: site.polls("/wire") and site.polls("/daily"), "first polls")
        site.publish("/wire", BORDER)
        daemon.expect(lambda: webhook.posts, "the alert from the first feed")
        site.publish("/daily", BORDER_ELSEWHERE)
        daemon.wait_log("daily: 2 entries, 1 new, 0 alerts queued")
        assert daemon.stop() == 0

    [post] = webhook.posts
    assert "Example Wire" in post.message
    [sent] = setup.outbox("sent")
    with setup.store() as store:
        assert sent.story_id is not None
        sources = {source.feed for source in store.story_sources(sent.story_id)}
    assert sources == {"wire", "daily"}
