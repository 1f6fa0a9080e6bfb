"""Delivery through apprise to real loopback peers: per-service results, failures and secrets."""

from __future__ import annotations

import io
import logging
from functools import partial

import apprise
import pytest

from tests.support.mail import Mailbox
from tests.support.sockets import SilentServer, free_port
from tests.support.waiting import wait_for
from tests.support.webhook import Webhook
from watcher.alerts import dispatch
from watcher.alerts.compose import Message, compose_alert
from watcher.alerts.dispatch import check_notifier, deliver
from watcher.config import NotifierSettings


async def test_webhook_receives_title_and_markdown_body(
    webhook: Webhook, notifier_name: str, payload
):
    settings = NotifierSettings(urls=[webhook.url()])

    delivery = await deliver(notifier_name, settings, partial(compose_alert, payload))

    assert delivery.ok, delivery.error
    assert delivery.results[0].service == f"{notifier_name}#1"
    assert delivery.results[0].kind == "JSON"
    assert wait_for(lambda: webhook.posts)
    sent = webhook.posts[0]
    assert sent.path == "/hook"
    assert sent.title == "[HIGH] Border security — Patrols double along the northern frontier"
    assert "**border crossings**" in sent.message
    assert "<https://news.example/world/patrols>" in sent.message


async def test_format_setting_overrides_the_channel_default(
    webhook: Webhook, notifier_name: str, payload
):
    settings = NotifierSettings(urls=[webhook.url()], format="text")

    delivery = await deliver(notifier_name, settings, partial(compose_alert, payload))

    assert delivery.ok, delivery.error
    assert wait_for(lambda: webhook.posts)
    assert "«border crossings»" in webhook.posts[0].message


async def test_smtp_server_down_fails_with_a_reason_and_no_secret(
    notifier_name: str, payload, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("SMTP_PASSWORD", "hunter2-very-secret")
    url = (
        f"mailto://alerts:${{SMTP_PASSWORD}}@127.0.0.1:{free_port()}"
        "?from=alerts@watcher.test&to=desk@example.test&mode=insecure"
    )
    settings = NotifierSettings(urls=[url])

    delivery = await deliver(notifier_name, settings, partial(compose_alert, payload))

    assert not delivery.ok
    [result] = delivery.results
    assert (result.ok, result.status) == (False, "failed")
    assert "Connection error" in result.error
    assert f"{notifier_name}#1 (E-Mail)" in delivery.error
    everything = delivery.model_dump_json()
    assert "hunter2" not in everything
    assert "****" in result.url


async def test_one_of_two_services_failing_shows_which(
    webhook: Webhook, mailbox: Mailbox, notifier_name: str, payload
):
    settings = NotifierSettings(urls=[mailbox.url(), webhook.url("/fail")])

    delivery = await deliver(notifier_name, settings, partial(compose_alert, payload))

    assert not delivery.ok
    assert [(r.service, r.ok) for r in delivery.results] == [
        (f"{notifier_name}#1", True),
        (f"{notifier_name}#2", False),
    ]
    assert "500" in delivery.results[1].error
    assert delivery.failed_services == [f"{notifier_name}#2"]
    assert wait_for(lambda: mailbox.received)


async def test_retry_sends_only_to_the_services_named(
    webhook: Webhook, mailbox: Mailbox, notifier_name: str, payload
):
    settings = NotifierSettings(urls=[mailbox.url(), webhook.url()])

    delivery = await deliver(
        notifier_name, settings, partial(compose_alert, payload), only=[f"{notifier_name}#2"]
    )

    assert delivery.ok, delivery.error
    assert [r.service for r in delivery.results] == [f"{notifier_name}#2"]
    assert wait_for(lambda: webhook.posts)
    assert mailbox.received == []


async def test_header_secrets_are_masked_in_results(notifier_name: str, payload):
    url = f"json://127.0.0.1:{free_port()}/hook?+X-Token=s3cr3t-header-value"
    settings = NotifierSettings(urls=[url])

    delivery = await deliver(notifier_name, settings, partial(compose_alert, payload))

    assert not delivery.ok
    assert "s3cr3t-header-value" not in delivery.model_dump_json()


async def test_missing_secret_and_bad_url_fail_only_their_own_destination(
    webhook: Webhook, notifier_name: str, payload
):
    settings = NotifierSettings(
        urls=["json://127.0.0.1/${NO_SUCH_SECRET_FOR_TESTS}", "nosuchscheme://x", webhook.url()]
    )

    delivery = await deliver(notifier_name, settings, partial(compose_alert, payload))

    assert [r.ok for r in delivery.results] == [False, False, True]
    assert "${NO_SUCH_SECRET_FOR_TESTS}" in delivery.results[0].error
    assert "not a valid apprise URL" in delivery.results[1].error
    assert wait_for(lambda: webhook.posts)
    problems = check_notifier(notifier_name, settings)
    assert len(problems) == 2
    assert [p.split(": ")[0] for p in problems] == [
        f"notifiers.{notifier_name}.urls[1]",
        f"notifiers.{notifier_name}.urls[2]",
    ]


async def test_console_notifier_prints_the_text_message(notifier_name: str, payload):
    out = io.StringIO()
    settings = NotifierSettings(console=True)

    delivery = await deliver(notifier_name, settings, partial(compose_alert, payload), stream=out)

    assert delivery.ok
    assert delivery.results[0].kind == "console"
    printed = out.getvalue()
    assert printed.startswith("[HIGH] Border security — Patrols double")
    assert "«border crossings»" in printed


async def test_notify_test_reports_each_service(
    webhook: Webhook, notifier_name: str, mailbox: Mailbox
):
    down = f"json://127.0.0.1:{free_port()}/hook"
    settings = NotifierSettings(urls=[webhook.url(), down, mailbox.url()])

    delivery = await dispatch.test_notifier(notifier_name, settings)

    assert [r.status for r in delivery.results] == ["sent", "failed", "sent"]
    assert wait_for(lambda: webhook.posts and mailbox.received)
    assert webhook.posts[0].title == f"[TEST] watcher notifier '{notifier_name}'"
    assert mailbox.received[0]["Subject"] == f"[TEST] watcher notifier '{notifier_name}'"


async def test_apprise_debug_logging_is_kept_off(webhook: Webhook, notifier_name: str, payload):
    logging.getLogger("apprise").setLevel(logging.DEBUG)

    await deliver(
        notifier_name, NotifierSettings(urls=[webhook.url()]), partial(compose_alert, payload)
    )

    assert logging.getLogger("apprise").level == logging.WARNING


@pytest.mark.parametrize(
    ("url", "body_format", "max_length", "title_in_body"),
    [
        ("mailto://127.0.0.1?from=a@watcher.test&to=b@example.test", "html", None, False),
        ("irc://bot@127.0.0.1/#alerts", "text", 380, True),
        ("discord://123456789012345678/" + "t" * 64, "markdown", 2000, False),
        ("tgram://123456789:AAH" + "x" * 32 + "/12345", "markdown", 4096, True),
        ("slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ/#general", "markdown", 35000, False),
    ],
)
def test_each_service_gets_the_format_and_budget_apprise_declares_for_it(
    url, body_format, max_length, title_in_body
):
    plugin = apprise.Apprise.instantiate(url)

    style = dispatch.style_for(plugin, "auto")

    assert (style.body_format, style.max_length, style.title_in_body) == (
        body_format,
        max_length,
        title_in_body,
    )


def test_irc_budget_is_in_bytes_and_lines():
    style = dispatch.style_for(apprise.Apprise.instantiate("irc://bot@127.0.0.1/#alerts"), "auto")

    assert style.count_bytes
    assert style.max_lines == 5


def test_tokens_apprise_hides_are_scrubbed_from_any_error_text():
    token = "123456789:AAH" + "s" * 32
    url = f"tgram://{token}/12345"
    plugin = apprise.Apprise.instantiate(url)
    secrets = dispatch.secret_fragments(url, plugin.url(privacy=True))
    error = f"Telegram POST URL: https://api.telegram.org/bot{token}/sendMessage refused"

    scrubbed = dispatch.scrub(error, secrets)

    assert "AAH" + "s" * 32 not in scrubbed
    assert "****" in scrubbed


async def test_a_silent_server_times_out(notifier_name: str, payload):
    with SilentServer() as silent:
        url = (
            f"mailto://127.0.0.1:{silent.port}?from=a@watcher.test&to=b@example.test&mode=insecure"
        )
        delivery = await deliver(
            notifier_name,
            NotifierSettings(urls=[url]),
            partial(compose_alert, payload),
            timeout=1,
        )

    assert not delivery.ok
    assert delivery.results[0].status == "timeout"
    assert "did not finish" in delivery.results[0].error


async def test_one_ready_message_goes_to_every_destination_as_it_is(
    webhook: Webhook, notifier_name: str
):
    message = Message(title="Hello", body="*as is*", body_format="markdown", text_body="as is")
    out = io.StringIO()
    settings = NotifierSettings(urls=[webhook.url()], console=True)

    delivery = await deliver(notifier_name, settings, message, stream=out)

    assert delivery.ok, delivery.error
    assert wait_for(lambda: webhook.posts)
    assert webhook.posts[0].message == "*as is*"
    assert out.getvalue() == "Hello\n*as is*\n\n"


async def test_console_that_cannot_be_written_is_a_failure(notifier_name: str, payload):
    closed = io.StringIO()
    closed.close()

    delivery = await deliver(
        notifier_name,
        NotifierSettings(console=True),
        partial(compose_alert, payload),
        stream=closed,
    )

    assert not delivery.ok
    assert "cannot write to standard output" in delivery.results[0].error
