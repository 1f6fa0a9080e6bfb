"""Faults from issue 4 §5: a mail server down, a daemon killed mid-send, feeds that hang or
send garbage, a broken rule file on reload, SIGTERM in the middle of a poll."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa

from tests.daemon.stories import BAKERY, BORDER, HARBOUR
from tests.support.daemon import RULES, Setup, Watcher, settle
from tests.support.feeds import RSS_TYPE, FeedSite, Item, endless_drip, rss
from tests.support.httpserver import Reply
from tests.support.mail import Mailbox
from tests.support.sockets import SilentServer, free_port
from tests.support.webhook import Webhook
from watcher.store.schema import feed as feed_table


def test_an_alert_queued_while_smtp_is_down_is_delivered_once_it_is_back(
    setup: Setup, site: FeedSite
):
    mailbox = Mailbox(free_port())  # nothing listens there yet
    setup.feed("wire", site.feed("/wire", "Example Wire", [BORDER]))
    setup.poll["first_poll_alerts"] = 5
    setup.notifiers["desk-mail"] = {"urls": [mailbox.url()]}
    setup.routes["medium"] = ["desk-mail"]

    with Watcher(setup.write()).running() as daemon:
        [failed] = daemon.expect(
            lambda: [a for a in setup.outbox("pending") if a.attempts], "a failed attempt"
        )
        assert failed.last_error and "desk-mail" in failed.last_error
        with mailbox:
            daemon.expect(lambda: mailbox.received, "the alert once SMTP is back", within=30)
            daemon.expect(lambda: setup.outbox("sent"), "the alert marked sent")
            settle(daemon, lambda: site.polls("/wire"))
            assert daemon.stop() == 0

    assert mailbox.subjects() == [f"[MEDIUM] Border security — {BORDER.title}"]
    [sent] = setup.outbox("sent")
    assert sent.attempts >= 1
    assert "alert 1 to desk-mail failed (attempt 1)" in daemon.log


def test_a_daemon_killed_while_sending_delivers_the_alert_once_after_restart(
    setup: Setup, site: FeedSite
):
    hanging = SilentServer()  # accepts the SMTP connection and never greets
    mailbox = Mailbox(hanging.port)
    setup.feed("wire", site.feed("/wire", "Example Wire", [BORDER]))
    setup.poll["first_poll_alerts"] = 5
    setup.alerts["lease"] = "3s"
    setup.notifiers["desk-mail"] = {"urls": [mailbox.url()]}
    setup.routes["medium"] = ["desk-mail"]
    config = setup.write()

    with Watcher(config) as first:
        first.expect(lambda: hanging.connections, "the daemon connecting to send the alert")
        first.kill()
    hanging.stop()
    [queued] = setup.outbox("pending")
    assert queued.attempts == 0  # claimed, not sent, not failed: only the lease holds it

    with mailbox, Watcher(config) as second:
        second.expect(lambda: mailbox.received, "the alert after the lease ran out", within=30)
        second.expect(lambda: setup.outbox("sent"), "the alert marked sent")
        settle(second, lambda: site.polls("/wire"))
        assert second.stop() == 0

    assert mailbox.subjects() == [f"[MEDIUM] Border security — {BORDER.title}"]


def test_feeds_leased_by_a_dead_daemon_of_this_host_are_polled_at_once_after_restart(
    setup: Setup, site: FeedSite
):
    setup.feed("orphaned", site.feed("/orphaned", "Orphaned", [BAKERY]))
    setup.feed("busy", site.feed("/busy", "Busy", [HARBOUR]))
    config = setup.write()
    with Watcher(config) as first:
        first.expect(lambda: site.polls("/orphaned") and site.polls("/busy"), "both feeds polled")
        assert first.stop() == 0
    # Leases an hour long: one held by a process of this host that has ended (a killed
    # daemon), one by a process that still runs (this test, as if another daemon).
    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                           capture_output=True, text=True, check=True)  # fmt: skip
    host = socket.gethostname()
    far = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    with setup.store() as store:
        for name, pid in (("orphaned", ended.stdout.strip()), ("busy", os.getpid())):
            row = store.feed(name)
            assert row is not None
            with store.engine.begin() as connection:
                connection.execute(
                    sa.update(feed_table)
                    .where(feed_table.c.id == row.id)
                    .values(lease_owner=f"{host}:{pid}:0a1b2c3d", lease_until=far)
                )
    orphaned, busy = site.polls("/orphaned"), site.polls("/busy")

    with Watcher(config) as second:
        second.expect(lambda: site.polls("/orphaned") >= orphaned + 3, "the orphaned feed polled")
        assert site.polls("/busy") == busy  # its owner still runs: its lease holds
        assert second.stop() == 0


def test_a_hanging_feed_and_a_garbage_feed_do_not_hold_up_the_others(setup: Setup, site: FeedSite):
    setup.feed("first", site.feed("/first", "First", [BAKERY]))
    setup.feed("second", site.feed("/second", "Second", [BAKERY]))
    setup.feed("hanging", site.route("/hang", Reply(hang=True)))
    setup.feed(
        "garbage", site.route("/garbage", Reply(headers=RSS_TYPE, body=b"\x00\xff\x13 <<" * 300))
    )
    blocked = Reply(
        headers={"Content-Type": "text/html"},
        body=b"<html><body><h1>Access denied</h1><p>Please enable cookies.</p></body></html>",
    )
    setup.feed("blocked", site.route("/blocked", blocked))
    setup.http["deadline"] = "60s"  # the hanging fetch stays in flight for the whole test
    setup.poll["drain"] = "1s"

    with Watcher(setup.write()) as daemon:
        daemon.expect(lambda: site.polls("/hang"), "the hanging feed's request")
        first, second = site.polls("/first"), site.polls("/second")
        daemon.expect(
            lambda: site.polls("/first") >= first + 3 and site.polls("/second") >= second + 3,
            "three more polls of each good feed while the hanging one hangs",
            within=15,
        )
        assert site.polls("/hang") == 1
        assert site.polls("/garbage") >= 1 and site.polls("/blocked") >= 1
        assert daemon.stop() == 0

    status = setup.feed_status()
    assert status["first"].last_error is None and status["first"].last_status == 200
    assert status["second"].last_error is None and status["second"].entries_seen == 1
    assert status["garbage"].last_error and status["garbage"].error_count >= 1
    assert status["blocked"].last_error and status["blocked"].error_count >= 1
    assert status["hanging"].last_polled_at is None
    assert status["hanging"].leased_by is None  # given back when the poll was cancelled


RULE_BAKERY = """\
id: bakery-news
title: Bakery news
severity: high
match:
  any:
    - bakery OR sourdough
"""


def test_sighup_with_a_broken_rule_file_keeps_the_old_rules(
    setup: Setup, site: FeedSite, webhook: Webhook, tmp_path: Path
):
    rules = tmp_path / "rules"
    rules.mkdir()
    for name in ("_lists.yaml", "border-security.yaml"):
        shutil.copy(RULES / name, rules / name)
    good_rule = (rules / "border-security.yaml").read_text()
    setup.rules = [rules]
    setup.feed("wire", site.feed("/wire", "Example Wire", [BAKERY]))
    setup.notifiers["hook"] = {"urls": [webhook.url()]}
    setup.routes.update(medium=["hook"], high=["hook"])
    config = setup.write()

    with Watcher(config) as daemon:
        daemon.expect(lambda: site.polls("/wire"), "the first poll")

        (rules / "border-security.yaml").write_text(good_rule.replace("match:", "match: [", 1))
        daemon.send(signal.SIGHUP)
        daemon.wait_log("reload refused")
        assert "border-security.yaml" in daemon.log.split("reload refused", 1)[1]
        site.publish("/wire", BORDER)
        daemon.expect(
            lambda: [p for p in webhook.posts if BORDER.title in p.title],
            "an alert from the old rule after the refused reload",
        )

        config.write_text(config.read_text() + "\n[unclosed\n")
        daemon.send(signal.SIGHUP)
        daemon.wait_log("TOML syntax error")
        assert f"reload refused: {config}: TOML syntax error" in daemon.log

        (rules / "border-security.yaml").write_text(good_rule)
        (rules / "bakery.yaml").write_text(RULE_BAKERY)
        setup.write()
        daemon.send(signal.SIGHUP)
        daemon.wait_log("reloaded: 1 feeds, 2 rules")
        fresh = Item("bakery-2", "Town bakery opens a second shop", "Sourdough queues at dawn.")
        site.publish("/wire", fresh, HARBOUR)
        daemon.expect(lambda: len(webhook.posts) >= 3, "alerts from the new rule and the kept one")
        settle(daemon, lambda: site.polls("/wire"))
        assert daemon.stop() == 0

    assert sorted(p.title for p in webhook.posts) == sorted(
        [
            f"[MEDIUM] Border security — {BORDER.title}",
            f"[MEDIUM] Border security — {HARBOUR.title}",
            f"[HIGH] Bakery news — {fresh.title}",
        ]
    )


def test_sighup_refuses_an_unreadable_schedule_and_says_what_a_reload_cannot_apply(
    setup: Setup, site: FeedSite, tmp_path: Path
):
    setup.feed("wire", site.feed("/wire", "Example Wire", [BAKERY]))
    setup.notifiers["desk"] = {"console": True, "digest": "* * * * *"}
    config = setup.write()

    with Watcher(config) as daemon:
        daemon.expect(lambda: site.polls("/wire"), "the first poll")

        setup.notifiers["desk"]["digest"] = "weekly"
        setup.write()
        daemon.send(signal.SIGHUP)
        daemon.wait_log("reload refused")
        assert f"reload refused: {config}: notifiers.desk.digest: expected 'hourly'" in daemon.log

        rules = tmp_path / "rules"
        rules.mkdir()
        (rules / "bakery.yaml").write_text(RULE_BAKERY.replace("match:", "notify: [pager]\nmatch:"))
        setup.rules = [RULES, rules]
        setup.notifiers["desk"]["digest"] = "daily 08:00"
        setup.http["user_agent"] = "watcher-test/2"
        setup.write()
        daemon.send(signal.SIGHUP)
        daemon.wait_log("reloaded: 1 feeds")
        assert "notify names unknown notifier 'pager'" in daemon.log
        assert "reload: [http] limits and user_agent changed: takes effect at the next restart" in (
            daemon.log
        )
        assert "Traceback" not in daemon.log
        assert daemon.stop() == 0


def test_sigterm_during_polls_exits_cleanly_and_loses_nothing(setup: Setup, site: FeedSite):
    slow_body = rss("Slow Wire", [BAKERY, BORDER])
    site.route("/slow", Reply(headers=RSS_TYPE, body=slow_body, drip=0.5 / len(slow_body)))
    head = rss("Endless Wire", [HARBOUR]).split(b"</channel>")[0]
    site.route("/endless", Reply(headers=RSS_TYPE, body=lambda: endless_drip(head), drip=0.01))
    setup.feed("slow", site.url("/slow"))
    setup.feed("endless", site.url("/endless"))
    setup.http["deadline"] = "60s"
    setup.poll["drain"] = 3
    config = setup.write()

    with Watcher(config) as daemon:
        daemon.expect(
            lambda: site.polls("/slow") and site.polls("/endless"), "both feeds being read"
        )
        daemon.send(signal.SIGTERM)
        # The endless poll is given up after the 3 s drain (the slack is for a loaded machine).
        assert daemon.wait(within=3 + 10) == 0
    assert "gave up waiting for 1 polls" in daemon.log

    status = setup.feed_status()
    assert status["slow"].entries_seen == 2  # the poll that finished during the drain
    assert status["endless"].leased_by is None
    assert status["endless"].last_polled_at is None

    site.feed("/endless", "Endless Wire", [HARBOUR])  # the server is fine again
    with Watcher(config) as restarted:
        # Polled again at once: its lease was given back, not left to expire (5 minutes).
        restarted.expect(
            lambda: setup.feed_status()["endless"].entries_seen == 1,
            "the interrupted feed polled again",
        )
        assert restarted.stop() == 0


def test_sigterm_during_a_send_lets_it_finish_and_never_sends_it_again(
    setup: Setup, site: FeedSite
):
    mailbox = Mailbox(data_delay=1.5)  # a slow mail server
    setup.feed("wire", site.feed("/wire", "Example Wire", [BORDER]))
    setup.poll["first_poll_alerts"] = 5
    setup.poll["drain"] = "10s"
    setup.notifiers["desk-mail"] = {"urls": [mailbox.url()]}
    setup.routes["medium"] = ["desk-mail"]
    config = setup.write()

    with mailbox:
        with Watcher(config) as daemon:
            daemon.expect(lambda: mailbox.receiving, "the alert being sent")
            daemon.send(signal.SIGTERM)
            assert daemon.wait(within=30) == 0
        assert len(mailbox.received) == 1
        assert setup.outbox("sent")

        with Watcher(config).running() as restarted:
            settle(restarted, lambda: site.polls("/wire"))
            assert restarted.stop() == 0
        assert len(mailbox.received) == 1
