"""Fetch tests run against a real HTTP server on 127.0.0.1 (tests/support/httpserver.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from tests.support.fixtures import no_environment_proxy, private_ca, proxy
from tests.support.httpserver import LoopbackServer
from watcher.feeds.fetch import Fetcher, HttpLimits

__all__ = ["fetcher", "no_environment_proxy", "private_ca", "proxy", "server"]

#: Short enough that a test stopped by the deadline stays fast.
# Loopback test servers listen on random ports: the port rule for links from feeds is tested
# on its own (test_fulltext.py), the address guard everywhere else.
TEST_LIMITS = HttpLimits(deadline=2.0, connect_timeout=2.0, read_timeout=2.0, link_ports=None)


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer() as running:
        yield running


@pytest.fixture
async def fetcher() -> AsyncIterator[Fetcher]:
    async with Fetcher(TEST_LIMITS) as shared:
        yield shared
