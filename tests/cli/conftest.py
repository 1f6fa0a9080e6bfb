"""The command line against real peers on loopback."""

from __future__ import annotations

from tests.support.fixtures import no_environment_proxy, private_ca, proxy

__all__ = ["no_environment_proxy", "private_ca", "proxy"]
