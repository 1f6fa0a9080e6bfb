"""Chat alerts reach a channel of a real IRC server (ngircd) through apprise's irc:// plugin."""

from __future__ import annotations

from functools import partial

from tests.alerts.conftest import make_payload
from tests.support.irc import IrcListener
from tests.support.waiting import wait_for
from watcher.alerts.compose import compose_alert, compose_digest
from watcher.alerts.dispatch import deliver
from watcher.config import NotifierSettings


def irc_settings(port: int) -> NotifierSettings:
    return NotifierSettings(urls=[f"irc://watcherbot@127.0.0.1:{port}/#alerts"])


async def test_alert_arrives_in_the_channel_as_a_few_short_lines(
    irc_server: int, irc_listener: IrcListener, notifier_name: str, payload
):
    delivery = await deliver(
        notifier_name, irc_settings(irc_server), partial(compose_alert, payload), timeout=30
    )

    assert delivery.ok, delivery.error
    assert [r.kind for r in delivery.results] == ["IRC"]
    assert wait_for(lambda: any("(patrol)" in m for m in irc_listener.privmsgs()))
    messages = irc_listener.privmsgs()
    assert messages[0] == "[HIGH] Border security — Patrols double along the northern frontier"
    assert any("https://news.example/world/patrols" in m for m in messages)
    assert any("«border crossings»" in m for m in messages)
    assert len(messages) <= 6
    assert all(len(m.encode()) <= 380 for m in messages)


async def test_a_digest_of_many_alerts_stays_within_the_irc_budget(
    irc_server: int, irc_listener: IrcListener, notifier_name: str
):
    payloads = [
        make_payload(rule_id=f"r{i % 3}", rule_title=f"Rule {i % 3}", title=f"Story number {i}")
        for i in range(12)
    ]
    compose = partial(compose_digest, notifier_name, payloads, period_label="08:00–09:00")

    delivery = await deliver(notifier_name, irc_settings(irc_server), compose, timeout=30)

    assert delivery.ok, delivery.error
    assert wait_for(lambda: any("more" in m for m in irc_listener.privmsgs()))
    messages = irc_listener.privmsgs()
    assert messages[0].startswith(f"[HIGH] watcher digest for {notifier_name} — 12 alerts")
    assert sum(len(m.encode()) for m in messages) <= 380
