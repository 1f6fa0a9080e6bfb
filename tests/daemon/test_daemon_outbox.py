"""Delivery rules on a real store and a real webhook: quiet hours, rate-limit bursts, digests.

The Deliverer runs in-process here with chosen clocks (`now`), so hours of quiet time or a
digest window pass at once; the messages still go through apprise to a loopback endpoint.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from tests.daemon.stories import BORDER_STORIES
from tests.support.daemon import RULES
from tests.support.feeds import Item
from tests.support.mail import Mailbox
from tests.support.sockets import SilentServer
from tests.support.webhook import Webhook
from watcher.alerts.outbox import Deliverer
from watcher.alerts.payload import build_payload
from watcher.alerts.timing import quiet_hours_end
from watcher.article import Article, Block
from watcher.config import FeedSettings, NotifierSettings, Settings
from watcher.daemon import Daemon
from watcher.matching import RuleSet, load_ruleset, match_article
from watcher.store import AlertSpec, PolledEntry, Store

T = dt.datetime(2025, 5, 20, 23, 0, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)


@pytest.fixture(scope="module")
def rules() -> RuleSet:
    return load_ruleset([RULES]).ruleset


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(f"sqlite:///{tmp_path / 'watcher.db'}") as opened:
        opened.sync_feeds([FeedSettings(name="wire", url="https://wire.example/rss")], T)
        wire = opened.feed("wire")
        assert wire is not None
        opened.ingest(wire.id, [], T)  # the first poll: from now on new entries alert
        yield opened


class Outbox:
    """Queues alerts the way a poll does: real articles, real rules, real payloads."""

    def __init__(self, store: Store, rules: RuleSet, notifier: str, kind: str) -> None:
        self.store, self.rules, self.notifier, self.kind = store, rules, notifier, kind

    def queue(self, items: list[Item], now: dt.datetime) -> None:
        wire = self.store.feed("wire")
        assert wire is not None
        entries = []
        for item in items:
            article = Article(
                date=now.date(),
                title=item.title,
                summary=item.summary,
                body=[Block(text=item.summary)],
                url=item.url,
                feed="wire",
                source="Example Wire",
                published_at=now,
                fetched_at=now,
            )
            [match] = match_article(self.rules, article)
            spec = AlertSpec(
                notifier=self.notifier,
                rule_id=match.rule_id,
                kind=self.kind,  # type: ignore[arg-type]
                payload=build_payload(article, match).model_dump(mode="json"),
            )
            entries.append(PolledEntry(item.guid, article, item.url, [match], [spec]))
        result = self.store.ingest(wire.id, entries, now)
        assert len(result.alerts) == len(items)


def deliverer(store: Store, name: str, **notifier) -> Deliverer:
    settings = Settings(notifiers={name: NotifierSettings(**notifier)})
    return Deliverer(settings, store, owner="test-node")


async def test_quiet_hours_hold_an_alert_until_they_end(
    store: Store, rules: RuleSet, webhook: Webhook
):
    Outbox(store, rules, "night", "immediate").queue(BORDER_STORIES[:1], T)
    night = deliverer(store, "night", urls=[webhook.url()], quiet_hours="22:00-07:00")

    assert await night.deliver_due(T) == 0
    assert await night.deliver_due(T + dt.timedelta(hours=7, minutes=59)) == 0

    assert webhook.posts == []
    [held] = store.alerts("pending")
    assert held.attempts == 0  # holding is not a failed attempt
    assert held.next_attempt_at == dt.datetime(2025, 5, 21, 7, 0, tzinfo=dt.UTC)

    assert await night.deliver_due(held.next_attempt_at) == 1
    [post] = webhook.posts
    assert post.title == f"[MEDIUM] Border security — {BORDER_STORIES[0].title}"
    assert store.outbox_counts().pending == 0


async def test_a_burst_beyond_the_rate_limit_goes_out_as_one_message(
    store: Store, rules: RuleSet, webhook: Webhook
):
    outbox = Outbox(store, rules, "desk", "immediate")
    desk = deliverer(store, "desk", urls=[webhook.url()], rate_limit="2/h")

    outbox.queue(BORDER_STORIES[:4], T)
    assert await desk.deliver_due(T) == 4
    [burst] = webhook.posts
    assert "4 alerts" in burst.title
    for item in BORDER_STORIES[:4]:
        assert item.title in burst.message

    later = T + dt.timedelta(minutes=1)
    outbox.queue(BORDER_STORIES[4:], later)
    assert await desk.deliver_due(later) == 1  # the second message of the hour
    assert len(webhook.posts) == 2

    third = Item("border-9", "Drones join border patrols in the north", "Guards doubled patrols.")
    outbox.queue([third], later)
    assert await desk.deliver_due(later) == 0  # the hour's two messages are used up
    [held] = store.alerts("pending")
    assert held.attempts == 0 and held.next_attempt_at > later
    assert await desk.deliver_due(held.next_attempt_at) == 1
    assert third.title in webhook.posts[-1].title
    assert store.outbox_counts().sent == 6


async def test_a_digest_is_one_message_and_marks_its_alerts_sent(
    store: Store, rules: RuleSet, webhook: Webhook
):
    Outbox(store, rules, "morning", "digest").queue(BORDER_STORIES[:3], T)
    morning = deliverer(store, "morning", urls=[webhook.url()], digest="daily 08:00")

    assert await morning.deliver_due(T) == 0  # digest alerts wait for their schedule
    assert webhook.posts == []

    assert await morning.send_digest("morning", T + dt.timedelta(hours=9)) == 3
    [digest] = webhook.posts
    assert digest.title.startswith("[MEDIUM] watcher digest for morning — 3 alerts")
    for item in BORDER_STORIES[:3]:
        assert item.title in digest.message
    counts = store.outbox_counts()
    assert (counts.pending, counts.sent) == (0, 3)

    assert await morning.send_digest("morning", T + dt.timedelta(hours=33)) == 0
    assert len(webhook.posts) == 1


async def test_run_once_sends_a_digest_whose_time_came_since_its_oldest_alert(
    store: Store, rules: RuleSet, webhook: Webhook
):
    """From cron, no scheduler fires the digest at 08:00: the first `run --once` after it
    sends what waited for it, and none sends before."""
    Outbox(store, rules, "morning", "digest").queue(BORDER_STORIES[:2], T)
    morning = deliverer(store, "morning", urls=[webhook.url()], digest="daily 08:00")
    eight = dt.datetime.combine(T.date(), dt.time(8), dt.UTC)
    eight = eight if eight > T else eight + dt.timedelta(days=1)

    assert await morning.send_due_digests(eight - dt.timedelta(minutes=1)) == 0
    assert webhook.posts == []
    assert await morning.send_due_digests(eight + dt.timedelta(minutes=7)) == 2
    [digest] = webhook.posts
    assert digest.title.startswith("[MEDIUM] watcher digest for morning — 2 alerts")

    Outbox(store, rules, "morning", "digest").queue(BORDER_STORIES[2:3], eight + HOUR)
    assert await morning.send_due_digests(eight + 2 * HOUR) == 0  # its 08:00 is tomorrow's
    assert len(webhook.posts) == 1


async def test_a_digest_due_in_quiet_hours_is_sent_when_they_end(tmp_path: Path):
    """`daily 06:00` with `22:00-07:00`: every one of its times is quiet, so waiting for the
    next one would hold the digest for ever."""
    now = dt.datetime.now(dt.UTC)
    quiet = f"{now - HOUR:%H:%M}-{now + HOUR:%H:%M}"
    config = tmp_path / "watcher.toml"
    config.write_text(
        f'[store]\nurl = "sqlite:///{tmp_path / "watcher.db"}"\n'
        f'[notifiers.desk]\nconsole = true\ndigest = "{now:%M} {now:%H} * * *"\n'
        f'quiet_hours = "{quiet}"\n',
        encoding="utf-8",
    )
    daemon = Daemon.start(config)
    scheduler = AsyncIOScheduler(timezone=dt.UTC)
    scheduler.start()
    try:
        daemon._scheduler = scheduler
        daemon._deliverer = Deliverer(daemon.settings, daemon.store, daemon.owner)

        await daemon._digest("desk")

        [job] = [j for j in scheduler.get_jobs() if j.id == "digest-after-quiet-hours:desk"]
        assert job.next_run_time == quiet_hours_end(now, quiet, "UTC")
    finally:
        scheduler.shutdown(wait=False)
        daemon.store.close()


async def test_a_hanging_mail_server_does_not_hold_up_the_webhook(
    store: Store, rules: RuleSet, webhook: Webhook
):
    hanging = SilentServer()  # accepts the SMTP connection and never greets
    try:
        # The mail alert is queued first, so it is first in the delivery round.
        Outbox(store, rules, "a-mail", "immediate").queue(BORDER_STORIES[:1], T)
        Outbox(store, rules, "b-hook", "immediate").queue(BORDER_STORIES[1:2], T)
        settings = Settings(
            notifiers={
                "a-mail": NotifierSettings(urls=[Mailbox(hanging.port).url()]),
                "b-hook": NotifierSettings(urls=[webhook.url()]),
            }
        )
        round_ = asyncio.create_task(Deliverer(settings, store, owner="test-node").deliver_due(T))
        for _ in range(200):
            if webhook.posts and hanging.connections:
                break
            await asyncio.sleep(0.05)
        assert webhook.posts, "the webhook waited for the mail server"
        assert hanging.connections == 1 and not round_.done()  # the mail is still stuck
    finally:
        hanging.stop()  # the mail send fails now, and is retried later
    assert await round_ == 1
    [post] = webhook.posts
    assert BORDER_STORIES[1].title in post.title
    [waiting] = store.alerts("pending")
    assert waiting.notifier == "a-mail" and waiting.attempts == 1
