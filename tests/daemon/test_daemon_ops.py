"""The ops notifier hears when a feed breaks and when it recovers (DESIGN §9)."""

from __future__ import annotations

from tests.daemon.stories import BAKERY, BORDER, HARBOUR
from tests.support.daemon import Setup, Watcher, cli
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


def test_a_feed_gone_or_moved_for_good_is_told_to_ops_and_a_gone_one_can_be_enabled(
    setup: Setup, site: FeedSite, webhook: Webhook
) -> None:
    setup.feed("retired", site.route("/retired", Reply(status=410)))
    new_home = site.feed("/new-home", "Example Wire", [BAKERY])
    setup.feed("moved", site.route("/old-home", Reply.redirect(new_home, status=301)))
    setup.notifiers["ops"] = {"urls": [webhook.url("/ops")]}
    setup.alerts["ops_notifier"] = "ops"
    config = setup.write()

    with Watcher(config).running() as daemon:
        messages = daemon.expect(
            lambda: len(webhook.posts_to("/ops")) >= 2 and webhook.posts_to("/ops"),
            "the gone and moved messages",
        )
        assert daemon.stop() == 0
    titles = sorted(message.title for message in messages)
    assert titles == [
        "[watcher] feed moved moved permanently to "
        f"{new_home}: polled there from now on; put that URL in the config",
        "[watcher] feed retired is gone (HTTP 410): stopped until `watcher enable retired` or "
        "a new URL in the config",
    ]
    assert "retired: gone (HTTP 410): stopped until" in daemon.log

    enabled = cli("enable", "retired", "--config", str(config))
    unknown = cli("enable", "moved", "--config", str(config))
    assert (enabled.returncode, enabled.stdout.strip()) == (
        0,
        "retired: enabled; it is polled at the next dispatch",
    )
    assert (unknown.returncode, unknown.stderr.strip()) == (
        1,
        "moved: no stopped feed of that name",
    )
    assert setup.feed_status()["retired"].disabled_reason is None


def test_a_pause_the_server_asks_for_is_not_the_error_that_breaks_a_feed(
    setup: Setup, site: FeedSite, webhook: Webhook
) -> None:
    answers = iter([Reply(status=500), Reply(status=429, headers={"Retry-After": "3600"})])
    url = site.route("/busy", lambda request: next(answers, Reply(status=500)))
    setup.feed("busy", url)
    setup.poll["broken_after_errors"] = 2
    setup.notifiers["ops"] = {"urls": [webhook.url("/ops")]}
    setup.alerts["ops_notifier"] = "ops"

    with Watcher(setup.write()).running() as daemon:
        daemon.expect(lambda: site.polls("/busy") >= 2, "the 500 and then the 429", within=40)
        daemon.wait_log("busy: HTTP 429 Too Many Requests")
        assert daemon.stop() == 0

    assert webhook.posts_to("/ops") == []
    assert setup.feed_status()["busy"].error_count == 1


def test_ops_notifier_hears_when_a_feed_goes_silent_and_when_it_posts_again(
    setup: Setup, site: FeedSite, webhook: Webhook
) -> None:
    setup.feed("wire", site.feed("/wire", "Example Wire", [BAKERY]), silent_after="3s")
    setup.feed("desk", site.feed("/desk", "Busy Desk", [BORDER]))  # too little history to judge
    setup.poll["silence_check"] = "1s"
    setup.notifiers["ops"] = {"urls": [webhook.url("/ops")]}
    setup.alerts["ops_notifier"] = "ops"

    with Watcher(setup.write()).running() as daemon:
        [silent] = daemon.expect(lambda: webhook.posts_to("/ops"), "the silent-feed message")
        status = cli("status", "--config", str(setup.config_path))
        site.publish("/wire", HARBOUR)
        again = daemon.expect(
            lambda: [p for p in webhook.posts_to("/ops") if "posting again" in p.title],
            "the posting-again message",
        )
        assert daemon.stop() == 0

    assert silent.title.startswith("[watcher] feed wire has gone silent: no new entry for ")
    assert silent.title.endswith(" (its silent_after is 3s)")
    lines = {line.split()[0]: line for line in status.stdout.splitlines()[1:] if line.strip()}
    assert "silent (no new entry) since" in lines["wire"]
    assert "silent" not in lines["desk"]
    assert again[0].title.startswith("[watcher] feed wire is posting again: a new entry ")
    assert setup.feed_status()["wire"].silent_since is None
    # Told once, however many checks ran while it was silent.
    assert sum("gone silent" in p.title for p in webhook.posts_to("/ops")) == 1


def test_a_dry_run_leaves_silent_feeds_for_the_real_run_to_find_and_tell(
    setup: Setup, site: FeedSite, webhook: Webhook
) -> None:
    setup.feed("wire", site.feed("/wire", "Example Wire", [BAKERY]), silent_after="2s")
    setup.poll["silence_check"] = "1s"
    setup.notifiers["ops"] = {"urls": [webhook.url("/ops")]}
    setup.alerts["ops_notifier"] = "ops"
    config = setup.write()

    with Watcher(config, "--dry-run").running() as daemon:
        daemon.expect(lambda: site.polls("/wire") >= 4, "four polls, silent all along")
        assert daemon.stop() == 0
    unmarked = setup.feed_status()["wire"].silent_since
    with Watcher(config).running() as daemon:
        daemon.expect(lambda: webhook.posts_to("/ops"), "the silent-feed message")
        assert daemon.stop() == 0

    assert unmarked is None
    assert setup.feed_status()["wire"].silent_since is not None
