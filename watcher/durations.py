"""Durations as people write them in config and rule files: `90s`, `15m`, `6h`, `1d`, `1h30m`."""

from __future__ import annotations

import datetime as dt
import re

_DURATION = re.compile(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")


def parse_duration(text: str) -> dt.timedelta:
    """`1h30m` → 90 minutes. Raises ValueError with what was expected."""
    compact = text.strip().lower().replace(" ", "")
    match = _DURATION.fullmatch(compact)
    if not compact or not match or not any(match.groups()):
        raise ValueError(f"expected a duration such as 30s, 15m, 6h, 1d or 1h30m, not {text!r}")
    days, hours, minutes, seconds = (int(g or 0) for g in match.groups())
    return dt.timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)


def format_duration(value: dt.timedelta) -> str:
    seconds = int(value.total_seconds())
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(parts) or "0s"
