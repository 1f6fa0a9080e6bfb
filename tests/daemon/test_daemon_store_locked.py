"""The default SQLite store held by another program (an open `sqlite3` shell transaction): the
daemon waits, says so once, and alerts what came meanwhile once it is free."""

from __future__ import annotations

import sqlite3

from tests.daemon.stories import BAKERY, BORDER
from tests.support.daemon import Setup, Watcher, settle
from tests.support.feeds import FeedSite
from tests.support.webhook import Webhook


def test_a_store_locked_by_another_program_is_waited_for(
    setup: Setup, site: FeedSite, webhook: Webhook
) -> None:
    setup.feed("wire", site.feed("/wire", "Example Wire", [BAKERY]))
    setup.notifiers["desk"] = {"urls": [webhook.url("/desk")]}
    setup.routes["medium"] = ["desk"]
    with Watcher(setup.write()).running() as daemon:
        daemon.expect(lambda: site.polls("/wire") >= 2, "two polls")
        holder = sqlite3.connect(setup.directory / "watcher.db", isolation_level=None)
        try:
            holder.execute("BEGIN IMMEDIATE")  # the write lock, held as a forgotten shell would
            site.publish("/wire", BORDER)
            daemon.wait_log("store unavailable: database is locked", within=40)
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        [alert] = daemon.expect(lambda: webhook.posts_to("/desk"), "the alert", within=60)
        daemon.wait_log("store answers again (unavailable for ")
        settle(daemon, lambda: site.polls("/wire"))
        assert daemon.stop() == 0

    assert alert.title == f"[MEDIUM] Border security — {BORDER.title}"
    assert len(webhook.posts_to("/desk")) == 1
    assert daemon.log.count("store unavailable: ") == 1
    assert "Traceback" not in daemon.log
    # Every tick waits on the lock: APScheduler's "skipped" warning would repeat each time.
    assert "maximum number of running instances" not in daemon.log
