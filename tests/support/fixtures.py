"""Pytest fixtures for the loopback peers, shared by the suites that use them (import them into
a conftest or a test module): a feed site, a mailbox behind a real SMTP server, a webhook
endpoint, a forward proxy, a private CA, and an environment without proxies."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.feeds import FeedSite
from tests.support.mail import Mailbox
from tests.support.proxy import ForwardProxy
from tests.support.tls import PrivateCA
from tests.support.webhook import Webhook

PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")


@pytest.fixture
def site() -> Iterator[FeedSite]:
    with FeedSite() as running:
        yield running


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    with Mailbox() as running:
        yield running


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    with Webhook() as running:
        yield running


@pytest.fixture
def proxy(tmp_path: Path) -> Iterator[ForwardProxy]:
    with ForwardProxy(tmp_path) as running:
        yield running


@pytest.fixture
def private_ca(tmp_path: Path) -> PrivateCA:
    return PrivateCA(tmp_path)


@pytest.fixture
def no_environment_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """No proxy or CA bundle from the machine's environment (either case of each name)."""
    for name in (*PROXY_VARIABLES, "SSL_CERT_FILE", "SSL_CERT_DIR"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
