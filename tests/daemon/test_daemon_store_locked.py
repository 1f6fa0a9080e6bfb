"""The default SQLite store held by another program (an open `sqlite3` shell transaction): the
daemon waits, says so once, and alerts what came meanwhile once it is free."""

from __future__ import annotations

import sqlite3

from tests.daemon.outages import (
    once_the_store_is_back,
    publish_during_the_outage,
    watching_the_wire,
)
from tests.support.daemon import Setup
from tests.support.feeds import FeedSite
from tests.support.webhook import Webhook


def test_a_store_locked_by_another_program_is_waited_for(
    setup: Setup, site: FeedSite, webhook: Webhook
) -> None:
    with watching_the_wire(setup, site, webhook) as daemon:
        holder = sqlite3.connect(setup.directory / "watcher.db", isolation_level=None)
        try:
            holder.execute("BEGIN IMMEDIATE")  # the write lock, held as a forgotten shell would
            publish_during_the_outage(site)
            daemon.wait_log("store unavailable: database is locked", within=40)
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        once_the_store_is_back(daemon, site, webhook)
