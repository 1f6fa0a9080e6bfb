"""E-mail alerts received by a real SMTP server (aiosmtpd) on loopback."""

from __future__ import annotations

from functools import partial

from tests.alerts.conftest import make_payload
from tests.support.mail import Mailbox, email_parts
from tests.support.waiting import wait_for
from watcher.alerts.compose import compose_alert, compose_digest
from watcher.alerts.dispatch import deliver
from watcher.config import NotifierSettings


async def test_alert_email_has_subject_link_and_highlighted_words(
    mailbox: Mailbox, notifier_name: str
):
    payload = make_payload(title='Patrols <script>alert("x")</script> double')
    settings = NotifierSettings(urls=[mailbox.url()])

    delivery = await deliver(notifier_name, settings, partial(compose_alert, payload))

    assert delivery.ok, delivery.error
    assert [(r.kind, r.status) for r in delivery.results] == [("E-Mail", "sent")]
    assert wait_for(lambda: mailbox.received)
    email = mailbox.received[0]
    assert email["Subject"] == '[HIGH] Border security — Patrols <script>alert("x")</script> double'
    assert email["To"] == "desk@example.test"
    body = email_parts(email)
    html, text = body["text/html"], body["text/plain"]
    assert '<a href="https://news.example/world/patrols">' in html
    assert "<mark><strong>border crossings</strong></mark>" in html
    assert "Example Wire, Daily Example" in html
    assert "https://news.example/world/patrols" in text
    assert "border crossings" in text


async def test_digest_email_groups_alerts_by_rule(mailbox: Mailbox, notifier_name: str):
    payloads = [
        make_payload(title="Quiet harbour story"),
        make_payload(rule_id="ports", rule_title="Port closures", severity="critical"),
    ]
    settings = NotifierSettings(urls=[mailbox.url()])
    compose = partial(compose_digest, notifier_name, payloads, period_label="daily 08:00")

    delivery = await deliver(notifier_name, settings, compose)

    assert delivery.ok, delivery.error
    assert wait_for(lambda: mailbox.received)
    email = mailbox.received[0]
    assert email["Subject"] == (
        f"[CRITICAL] watcher digest for {notifier_name} — 2 alerts, daily 08:00"
    )
    html = email_parts(email)["text/html"]
    assert html.index("Port closures") < html.index("Border security")
