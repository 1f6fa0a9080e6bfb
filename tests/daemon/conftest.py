"""End-to-end tests of `watcher run`: the real daemon as a subprocess, real peers on loopback."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.daemon import Setup
from tests.support.fixtures import mailbox, site, webhook
from tests.support.notify import NotifySocket

__all__ = ["mailbox", "notify_socket", "setup", "site", "webhook"]


@pytest.fixture
def setup(tmp_path: Path) -> Setup:
    return Setup(tmp_path)


@pytest.fixture
def notify_socket() -> Iterator[NotifySocket]:
    # AF_UNIX paths are limited to 107 bytes, which pytest's tmp_path can exceed.
    with tempfile.TemporaryDirectory(prefix="sdn-") as directory:
        listener = NotifySocket(Path(directory) / "notify")
        yield listener
        listener.close()
