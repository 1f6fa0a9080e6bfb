"""End-to-end tests of `watcher run`: the real daemon as a subprocess, real peers on loopback."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.daemon import Setup
from tests.support.fixtures import mailbox, site, webhook

__all__ = ["mailbox", "setup", "site", "webhook"]


@pytest.fixture
def setup(tmp_path: Path) -> Setup:
    return Setup(tmp_path)
