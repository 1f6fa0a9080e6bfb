"""When a notifier may speak: digest schedules, quiet hours and rate limits.

All functions are pure: they take the current time instead of reading the clock, and they work
in the notifier's own time zone through zoneinfo, so quiet hours and digest times follow the
local wall clock across daylight-saving changes.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

from watcher.config import timezone_problem
from watcher.durations import format_duration, parse_duration

_CLOCK = r"([01]?\d|2[0-3]):([0-5]\d)"
_DAILY = re.compile(rf"daily\s+{_CLOCK}")
_QUIET = re.compile(rf"{_CLOCK}\s*-\s*{_CLOCK}")
_RATE = re.compile(r"(\d+)\s*/\s*(\S+)")
_UNIT_WORDS = {
    "s": "s",
    "sec": "s",
    "second": "s",
    "m": "m",
    "min": "m",
    "minute": "m",
    "h": "h",
    "hour": "h",
    "d": "d",
    "day": "d",
}


def zone(name: str) -> ZoneInfo:
    """The IANA time zone `name`, or a ValueError saying it is unknown."""
    problem = timezone_problem(name)
    if problem:
        raise ValueError(f"timezone: {problem}")
    return ZoneInfo(name)


def digest_trigger(spec: str, tz: str) -> CronTrigger:
    """'hourly', 'daily HH:MM' or a five-field cron expression, in the time zone `tz`."""
    zone_info = zone(tz)
    text = " ".join(spec.split()).lower()
    if text == "hourly":
        return CronTrigger(minute=0, timezone=zone_info)
    daily = _DAILY.fullmatch(text)
    if daily:
        return CronTrigger(hour=int(daily[1]), minute=int(daily[2]), timezone=zone_info)
    if len(text.split()) == 5:
        try:
            return CronTrigger.from_crontab(text, timezone=zone_info)
        except ValueError as error:
            raise ValueError(f"digest: invalid cron expression {spec!r}: {error}") from None
    raise ValueError(
        "digest: expected 'hourly', 'daily HH:MM' or a five-field cron expression "
        f"such as '0 8 * * mon-fri', got {spec!r}"
    )


@dataclass(frozen=True)
class QuietHours:
    start: dt.time
    end: dt.time

    @classmethod
    def parse(cls, spec: str) -> QuietHours:
        match = _QUIET.fullmatch(spec.strip())
        if not match:
            raise ValueError(f"quiet_hours: expected HH:MM-HH:MM, got {spec!r}")
        start = dt.time(int(match[1]), int(match[2]))
        end = dt.time(int(match[3]), int(match[4]))
        if start == end:
            raise ValueError(f"quiet_hours: start and end are the same time in {spec!r}")
        return cls(start, end)

    def contains(self, local: dt.time) -> bool:
        if self.start < self.end:
            return self.start <= local < self.end
        # The window crosses midnight, e.g. 22:00-07:00.
        return local >= self.start or local < self.end


def _local(now: dt.datetime, tz: str) -> dt.datetime:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be a time-zone-aware datetime")
    return now.astimezone(zone(tz))


def in_quiet_hours(now: dt.datetime, spec: str, tz: str) -> bool:
    """Whether `now` falls inside the daily quiet window `spec` ('22:00-07:00') in `tz`."""
    quiet = QuietHours.parse(spec)
    return quiet.contains(_local(now, tz).time().replace(tzinfo=None))


def quiet_hours_end(now: dt.datetime, spec: str, tz: str) -> dt.datetime:
    """When held alerts may go out: the end of the current quiet window, or `now` outside it.

    The result is time-zone-aware (UTC). On a daylight-saving day whose clocks skip the end
    time (02:30 when 02:00 jumps to 03:00), the window ends when the clocks jump.
    """
    quiet = QuietHours.parse(spec)
    local = _local(now, tz)
    if not quiet.contains(local.time().replace(tzinfo=None)):
        return now.astimezone(dt.UTC)
    end_day = local.date()
    if local.time().replace(tzinfo=None) >= quiet.end:
        end_day += dt.timedelta(days=1)
    return _first_instant_at(dt.datetime.combine(end_day, quiet.end), zone(tz))


def _first_instant_at(wall: dt.datetime, zone_info: ZoneInfo) -> dt.datetime:
    """The first instant (UTC) at which the local clock in `zone_info` reads `wall` or later."""
    earliest = wall.replace(tzinfo=zone_info).astimezone(dt.UTC)
    if earliest.astimezone(zone_info).replace(tzinfo=None) == wall:
        return earliest
    # `wall` was skipped: the jump lies between its readings with the later offset (fold=1)
    # and the earlier one (fold=0). Narrow it down to the second.
    low = int(wall.replace(tzinfo=zone_info, fold=1).timestamp())
    high = int(earliest.timestamp())
    while high - low > 1:
        middle = (low + high) // 2
        reading = dt.datetime.fromtimestamp(middle, zone_info).replace(tzinfo=None)
        if reading >= wall:
            high = middle
        else:
            low = middle
    return dt.datetime.fromtimestamp(high, dt.UTC)


@dataclass(frozen=True)
class RateLimit:
    """At most `count` messages in any sliding `window`."""

    count: int
    window: dt.timedelta

    @classmethod
    def parse(cls, spec: str) -> RateLimit:
        """'20/h', '100/day', '5/10m': a count, a slash, and a unit or a duration."""
        expected = f"rate_limit: expected COUNT/PERIOD such as '20/h' or '5/10m', got {spec!r}"
        match = _RATE.fullmatch(spec.strip().lower())
        if not match:
            raise ValueError(expected)
        count = int(match[1])
        period = match[2]
        unit = _UNIT_WORDS.get(period.removesuffix("s")) or _UNIT_WORDS.get(period)
        try:
            window = parse_duration(f"1{unit}" if unit else period)
        except ValueError:
            raise ValueError(expected) from None
        if count < 1 or window <= dt.timedelta(0):
            raise ValueError(f"rate_limit: count and period must be positive, got {spec!r}")
        return cls(count, window)

    def __str__(self) -> str:
        return f"{self.count}/{format_duration(self.window)}"

    def _recent(self, sent_times: Iterable[dt.datetime], now: dt.datetime) -> list[dt.datetime]:
        since = now - self.window
        return sorted(t for t in sent_times if since < t <= now)

    def allows(self, sent_times: Iterable[dt.datetime], now: dt.datetime) -> bool:
        """Whether one more message may go out at `now`, given when earlier ones were sent."""
        return len(self._recent(sent_times, now)) < self.count

    def next_allowed(self, sent_times: Iterable[dt.datetime], now: dt.datetime) -> dt.datetime:
        """The earliest moment from `now` on at which `allows` becomes true."""
        recent = self._recent(sent_times, now)
        if len(recent) < self.count:
            return now
        # The window must slide past enough old sends to free one slot.
        return recent[len(recent) - self.count] + self.window
