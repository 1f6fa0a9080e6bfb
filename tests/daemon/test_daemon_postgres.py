"""The real daemon on PostgreSQL (DESIGN §8): a store that goes away for a while, and two nodes
sharing one store."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from tests.daemon.outages import (
    once_the_store_is_back,
    publish_during_the_outage,
    watching_the_wire,
)
from tests.daemon.stories import BAKERY, BORDER, BORDER_STORIES
from tests.support.daemon import Setup, Watcher, environment, settle
from tests.support.feeds import RSS_TYPE, FeedSite, rss
from tests.support.httpserver import Reply
from tests.support.notify import NotifySocket
from tests.support.postgres import fresh_schema, postgres_base_url, render
from tests.support.sockets import Relay
from tests.support.webhook import Webhook

pytestmark = pytest.mark.postgres


@pytest.fixture
def postgres() -> Iterator[sa.URL]:
    """A fresh schema of the test database, reached directly."""
    with fresh_schema(postgres_base_url()) as url:
        yield url


@pytest.fixture
def database(setup: Setup, postgres: sa.URL) -> Iterator[Relay]:
    """The daemon's way to the fresh schema: a relay the test can cut and restore."""
    with Relay((postgres.host or "127.0.0.1", postgres.port or 5432)) as relay:
        setup.database = render(postgres.set(host="127.0.0.1", port=relay.port))
        yield relay


def test_a_daemon_rides_out_its_store_going_away_and_alerts_what_came_meanwhile(
    setup: Setup, site: FeedSite, webhook: Webhook, database: Relay
) -> None:
    with watching_the_wire(setup, site, webhook) as daemon:
        database.cut()
        publish_during_the_outage(site)
        daemon.wait_log("store unavailable: ")
        refused = database.accepted
        daemon.expect(lambda: database.accepted >= refused + 6, "more attempts to reach it")
        database.restore()
        once_the_store_is_back(daemon, site, webhook)

    [went] = [line for line in daemon.log.splitlines() if "store unavailable: " in line]
    assert went.startswith("ERROR watcher.daemon: store unavailable: ")
    assert "server closed the connection unexpectedly" in went
    assert went.endswith("; polls and deliveries wait until it answers again")


def test_a_poll_the_outage_broke_is_polled_again_as_soon_as_the_store_answers(
    setup: Setup, site: FeedSite, webhook: Webhook, database: Relay
) -> None:
    with watching_the_wire(setup, site, webhook) as daemon:

        def requests() -> int:
            return len(site.server.requests_to("/wire"))

        before = requests()
        # The story comes slowly: the store goes away while it is being fetched, so the poll,
        # leased for [poll] lease (5 min), cannot store it.
        story = rss("Example Wire", [BORDER, BAKERY])
        site.route("/wire", Reply(headers=RSS_TYPE, body=story, delay=2))
        daemon.expect(lambda: requests() > before, "the slow poll under way")
        database.cut()
        time.sleep(3)  # the answer arrives, and the poll finds no store to keep it in
        site.feed("/wire", "Example Wire", [BORDER, BAKERY])  # the same, without the wait
        database.restore()
        once_the_store_is_back(daemon, site, webhook, within=20)


def test_while_its_store_is_away_the_daemon_stays_alive_for_systemd_and_ops_hears_of_it(
    setup: Setup,
    site: FeedSite,
    webhook: Webhook,
    database: Relay,
    notify_socket: NotifySocket,
) -> None:
    setup.feed("wire", site.feed("/wire", "Example Wire", [BAKERY]))
    setup.notifiers["ops"] = {"urls": [webhook.url("/ops")]}
    setup.alerts["ops_notifier"] = "ops"
    setup.alerts["store_outage_after"] = "2s"
    env = environment(NOTIFY_SOCKET=str(notify_socket.path), WATCHDOG_USEC="1000000")

    def pings() -> int:
        return notify_socket.firsts().count("WATCHDOG=1")

    with Watcher(setup.write(), env=env).running() as daemon:
        daemon.expect(lambda: site.polls("/wire") >= 1 and pings() >= 1, "a poll, a ping")
        database.cut()
        [gone] = daemon.expect(lambda: webhook.posts_to("/ops"), "ops told of the outage")
        before = pings()
        # systemd would restart a daemon that stops pinging: no use while the store is away.
        daemon.expect(lambda: pings() >= before + 3, "watchdog pings while it is away")
        database.restore()
        daemon.expect(lambda: len(webhook.posts_to("/ops")) == 2, "ops told it is back")
        assert daemon.stop() == 0

    back = webhook.posts_to("/ops")[1]
    assert gone.title.startswith("[watcher] store unavailable for ")
    assert "server closed the connection unexpectedly" in gone.title
    assert back.title.startswith("[watcher] store answers again (unavailable for ")
    statuses = [f for message in notify_socket.messages for f in message if f.startswith("STATUS=")]
    assert any(", store unavailable for " in status for status in statuses)


def test_two_daemons_sharing_one_store_alert_each_story_once(
    setup: Setup, site: FeedSite, webhook: Webhook, postgres: sa.URL
) -> None:
    setup.database = render(postgres)
    paths = [f"/desk-{number}" for number in range(len(BORDER_STORIES))]
    for path in paths:
        setup.feed(path.strip("/"), site.feed(path, "Example Desk", [BAKERY]))
    setup.notifiers["desk"] = {"urls": [webhook.url("/desk")]}
    setup.routes["medium"] = ["desk"]
    config = setup.write()

    with Watcher(config).running() as first, Watcher(config).running() as second:
        first.expect(lambda: all(site.polls(path) >= 2 for path in paths), "every feed polled")
        for path, story in zip(paths, BORDER_STORIES, strict=True):
            site.publish(path, story)
        first.expect(
            lambda: len(webhook.posts_to("/desk")) >= len(BORDER_STORIES), "every story's alert"
        )
        for path in paths:
            settle(first, lambda path=path: site.polls(path), polls=2)
        assert first.stop() == 0
        assert second.stop() == 0

    titles = sorted(post.title for post in webhook.posts_to("/desk"))
    assert titles == sorted(f"[MEDIUM] Border security — {s.title}" for s in BORDER_STORIES)
    queued = first.log.count("1 alerts queued") + second.log.count("1 alerts queued")
    assert queued == len(BORDER_STORIES)


def test_a_daemon_started_while_its_store_is_away_waits_for_it(
    setup: Setup, site: FeedSite, database: Relay, notify_socket: NotifySocket
) -> None:
    setup.feed("wire", site.feed("/wire", "Example Wire", [BAKERY]))
    database.cut()
    env = environment(NOTIFY_SOCKET=str(notify_socket.path))
    with Watcher(setup.write(), env=env) as daemon:
        daemon.wait_log("; waiting for it")
        daemon.expect(lambda: database.accepted >= 3, "tries to reach it again")
        database.restore()
        daemon.running()
        daemon.expect(lambda: site.polls("/wire"), "the feed polled")
        daemon.expect(lambda: setup.feed_status()["wire"].last_status, "the poll stored")
        assert daemon.stop() == 0

    [waiting] = [line for line in daemon.log.splitlines() if "waiting for it" in line]
    assert waiting.startswith(f"ERROR watcher.daemon: store {setup.database.split('?')[0]}")
    assert ": cannot open: connection failed: " in waiting
    # systemd hears what the start waits for, and that it is not stuck (TimeoutStartSec).
    before_ready = notify_socket.messages[: notify_socket.firsts().index("READY=1")]
    fields = [field for message in before_ready for field in message]
    assert any(f.startswith("STATUS=waiting for the store: store postgresql") for f in fields)
    assert any(f.startswith("EXTEND_TIMEOUT_USEC=") for f in fields)
