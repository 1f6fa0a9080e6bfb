"""IANA time zone names, as feeds and notifiers give them in the config."""

from __future__ import annotations

import zoneinfo


def timezone_problem(name: str) -> str | None:
    """What is wrong with a time zone's name (a feed's or a notifier's), if anything."""
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return f"expected an IANA time zone such as 'Asia/Shanghai', got {name!r}"
    return None
