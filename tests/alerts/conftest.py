"""Alert payloads and real peers on loopback (from tests/support): an SMTP server, a webhook
endpoint, an IRC server and a listener in its channel."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.fixtures import mailbox, webhook
from tests.support.irc import IrcListener, ngircd, ngircd_binary
from watcher.alerts.payload import AlertPayload, Snippet

__all__ = [
    "irc_listener",
    "irc_server",
    "mailbox",
    "make_payload",
    "notifier_name",
    "payload",
    "webhook",
]

_names = itertools.count(1)


@pytest.fixture
def notifier_name() -> str:
    """A fresh notifier name per test, so no test reuses another's cached destinations."""
    return f"n{next(_names)}"


def make_payload(**fields) -> AlertPayload:
    values = dict(
        rule_id="border",
        rule_title="Border security",
        severity="high",
        score=7.5,
        title="Patrols double along the northern frontier",
        date=dt.date(2025, 5, 20),
        section="World",
        summary="Officials announced more patrols after a week of crossings.",
        url="https://news.example/world/patrols",
        source="Example Wire",
        sources=["Example Wire", "Daily Example"],
        feed="example-world",
        published_at=dt.datetime(2025, 5, 20, 8, 30, tzinfo=dt.UTC),
        snippets=[
            Snippet(
                field="body",
                block=0,
                term="border crossing",
                text="border crossings",
                before="…guards reported more ",
                after=" near the river on Monday…",
            ),
            Snippet(
                field="title",
                term="patrol",
                text="Patrols",
                before="",
                after=" double along the northern frontier",
            ),
        ],
    )
    values.update(fields)
    return AlertPayload(**values)


@pytest.fixture
def payload() -> AlertPayload:
    return make_payload()


@pytest.fixture
def irc_server(tmp_path: Path) -> Iterator[int]:
    """A private ngircd on a free loopback port with the channel #alerts; yields the port."""
    if ngircd_binary() is None:
        pytest.skip("ngircd is not installed (apt-get install ngircd)")
    with ngircd(tmp_path, "#alerts") as port:
        yield port


@pytest.fixture
def irc_listener(irc_server: int) -> Iterator[IrcListener]:
    listener = IrcListener(irc_server, "#alerts")
    try:
        yield listener
    finally:
        listener.close()
