"""End-to-end tests of `watcher run`: the real daemon as a subprocess, real peers on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.daemon import Setup
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


@pytest.fixture
def setup(tmp_path: Path) -> Setup:
    return Setup(tmp_path)
