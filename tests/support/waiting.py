"""Waiting for what a real peer or process does: a deadline instead of a fixed sleep."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_for(predicate: Callable[[], T], within: float = 20.0, step: float = 0.05) -> T:
    """The first truthy value of `predicate()` within `within` seconds, else its last value."""
    deadline = time.monotonic() + within
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(step)


async def wait_for_async(predicate: Callable[[], T], within: float = 20.0, step: float = 0.05) -> T:
    """`wait_for` for a test on an event loop, which must keep running while it waits."""
    deadline = time.monotonic() + within
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        await asyncio.sleep(step)
