"""Pytest fixtures for the loopback peers, shared by the suites that use them (import them into
a conftest): a feed site, a mailbox behind a real SMTP server, a webhook endpoint."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.feeds import FeedSite
from tests.support.mail import Mailbox
from tests.support.webhook import Webhook


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
