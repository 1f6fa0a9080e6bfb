"""The story both store-outage tests tell: a desk notifier watching one feed, a border story
published while the store is away, and what must hold once it is back."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from tests.daemon.stories import BAKERY, BORDER
from tests.support.daemon import Setup, Watcher, settle
from tests.support.feeds import FeedSite
from tests.support.webhook import Webhook


def desk_watching_the_wire(setup: Setup, site: FeedSite, webhook: Webhook) -> None:
    setup.feed("wire", site.feed("/wire", "Example Wire", [BAKERY]))
    setup.notifiers["desk"] = {"urls": [webhook.url("/desk")]}
    setup.routes["medium"] = ["desk"]


@contextlib.contextmanager
def watching_the_wire(setup: Setup, site: FeedSite, webhook: Webhook) -> Iterator[Watcher]:
    """The daemon running with the desk watching the wire, which it has polled twice."""
    desk_watching_the_wire(setup, site, webhook)
    with Watcher(setup.write()).running() as daemon:
        daemon.expect(lambda: site.polls("/wire") >= 2, "two polls")
        yield daemon


def publish_during_the_outage(site: FeedSite) -> None:
    site.publish("/wire", BORDER)


def once_the_store_is_back(
    daemon: Watcher, site: FeedSite, webhook: Webhook, within: float = 60
) -> None:
    """The story published meanwhile alerts exactly once (within `within` seconds), and the log
    told of the outage in one line each way: no traceback per job and tick, nor a skipped-tick
    warning per tick."""
    [alert] = daemon.expect(lambda: webhook.posts_to("/desk"), "the alert", within=within)
    daemon.wait_log("store answers again (unavailable for ")
    settle(daemon, lambda: site.polls("/wire"))
    assert daemon.stop() == 0
    assert alert.title == f"[MEDIUM] Border security — {BORDER.title}"
    assert len(webhook.posts_to("/desk")) == 1
    assert daemon.log.count("store unavailable: ") == 1
    assert "Traceback" not in daemon.log
    assert "maximum number of running instances" not in daemon.log
