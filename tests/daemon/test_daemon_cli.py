"""`watcher status`, `watcher notify-test` and `watcher run --dry-run --once` on a real setup."""

from __future__ import annotations

import json

from tests.daemon.stories import BAKERY, BORDER
from tests.support.daemon import Setup, cli
from tests.support.feeds import FeedSite
from tests.support.sockets import free_port
from tests.support.webhook import Webhook


def status(config: str) -> dict:
    shown = cli("status", "--format", "json", "--config", config)
    assert shown.returncode == 0, shown.stderr
    return json.loads(shown.stdout)


def test_dry_run_prints_alerts_and_sends_nothing_then_run_sends_them(
    setup: Setup, site: FeedSite, webhook: Webhook
):
    setup.feed("wire", site.feed("/wire", "Example Wire", [BORDER, BAKERY]))
    setup.feed("gone", site.url("/gone"))  # answers 404
    setup.poll["first_poll_alerts"] = 5
    setup.notifiers["desk"] = {"urls": [webhook.url()]}
    setup.routes["medium"] = ["desk"]
    config = str(setup.write())

    dry = cli("run", "--dry-run", "--once", "--config", config)

    assert dry.returncode == 0, dry.stderr
    assert f"[dry-run] MEDIUM border-security: {BORDER.title}" in dry.stdout
    assert BAKERY.title not in dry.stdout
    assert webhook.posts == []
    shown = status(config)
    assert shown["outbox"]["pending"] == 1 and shown["outbox"]["sent"] == 0
    feeds = {feed["name"]: feed for feed in shown["feeds"]}
    assert feeds["wire"]["last_status"] == 200
    assert feeds["wire"]["last_error"] is None
    assert feeds["wire"]["entries_seen"] == 2
    assert feeds["wire"]["next_check_at"]
    assert feeds["gone"]["last_status"] == 404
    assert "404" in feeds["gone"]["last_error"]

    real = cli("run", "--once", "--config", config)

    assert real.returncode == 0, real.stderr
    assert [post.title for post in webhook.posts] == [f"[MEDIUM] Border security — {BORDER.title}"]
    outbox = status(config)["outbox"]
    assert (outbox["pending"], outbox["sent"], outbox["dead"]) == (0, 1, 0)
    text = cli("status", "--config", config)
    assert "outbox: 0 pending, 1 sent, 0 dead" in text.stdout
    assert "wire" in text.stdout and "gone" in text.stdout


def test_notify_test_reports_what_each_service_answered(setup: Setup, webhook: Webhook):
    refused = free_port()
    setup.notifiers["desk"] = {"urls": [webhook.url("/probe"), f"json://127.0.0.1:{refused}/probe"]}
    setup.notifiers["ok"] = {"urls": [webhook.url("/ok")]}
    config = str(setup.write())

    mixed = cli("notify-test", "desk", "--config", config)

    assert mixed.returncode == 1
    lines = mixed.stdout.splitlines()
    assert "desk#1 (JSON) sent" in lines
    [failed] = [line for line in lines if line.startswith("desk#2 (JSON) FAILED")]
    assert "Connection error" in failed
    [probe] = webhook.posts_to("/probe")
    assert probe.title == "[TEST] watcher notifier 'desk'"

    good = cli("notify-test", "ok", "--config", config)

    assert good.returncode == 0, good.stdout + good.stderr
    assert good.stdout.splitlines() == ["ok#1 (JSON) sent"]
    assert len(webhook.posts_to("/ok")) == 1

    unknown = cli("notify-test", "nobody", "--config", config)
    assert unknown.returncode == 2
    assert "no notifier 'nobody'" in unknown.stderr
