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

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.combining import OrTrigger
from apscheduler.triggers.cron import CronTrigger

from watcher.durations import format_duration, parse_duration
from watcher.timezones import timezone_problem

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


_CRON_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_CRON_DAY = re.compile(r"(\*|[0-7]|[a-z]{3})(?:-([0-7]|[a-z]{3}))?(?:/(\d+))?")


def _cron_day(value: str) -> int:
    if value.isdigit():
        return int(value) % 7  # cron's 7 is Sunday too
    if value not in _CRON_DAYS:
        raise ValueError(f"day of week {value!r} is not 0-7 or sun-sat")
    return _CRON_DAYS.index(value)


def _cron_weekdays(field: str) -> str:
    """A cron day-of-week field (0 or 7 = Sunday, 1 = Monday …, or names) as APScheduler
    reads it. APScheduler 3 counts 0 as Monday, so `1-5` given to it as it is would mean
    Tuesday to Saturday: the days are spelt out by name instead."""
    days: set[int] = set()
    for part in field.split(","):
        match = _CRON_DAY.fullmatch(part)
        if not match:
            raise ValueError(f"day of week {part!r} is not understood")
        start, end, step = match[1], match[2], int(match[3] or 1)
        if step < 1:
            raise ValueError(f"day of week {part!r}: the step must be at least 1")
        if start == "*":
            if end:
                raise ValueError(f"day of week {part!r} is not understood")
            first, last = 0, 6
        else:
            first = 7 if start == "7" else _cron_day(start)
            last = _cron_day(end) if end else (6 if match[3] else first)
            if end == "7" or (end and last == 0 and first > 0):
                last = 7  # `5-7`, `mon-sun`: a range that ends on Sunday runs forward to it
            if last < first:
                raise ValueError(f"day of week {part!r} runs backwards")
        days.update(day % 7 for day in range(first, last + 1, step))
    if len(days) == 7:
        return "*"
    return ",".join(_CRON_DAYS[day] for day in sorted(days))


def digest_trigger(spec: str, tz: str) -> BaseTrigger:
    """'hourly', 'daily HH:MM' or a five-field cron expression, in the time zone `tz`."""
    zone_info = zone(tz)
    text = " ".join(spec.split()).lower()
    if text == "hourly":
        return CronTrigger(minute=0, timezone=zone_info)
    daily = _DAILY.fullmatch(text)
    if daily:
        return CronTrigger(hour=int(daily[1]), minute=int(daily[2]), timezone=zone_info)
    if len(text.split()) == 5:
        minute, hour, day, month, weekdays = text.split()
        fields = {"minute": minute, "hour": hour, "month": month, "timezone": zone_info}
        try:
            days = _cron_weekdays(weekdays)
            if day != "*" and days != "*":
                # crontab fires on either day (`0 8 1 * mon`: the 1st, and every Monday);
                # APScheduler alone would want both.
                return OrTrigger(
                    [
                        CronTrigger(day=day, day_of_week="*", **fields),
                        CronTrigger(day="*", day_of_week=days, **fields),
                    ]
                )
            return CronTrigger(day=day, day_of_week=days, **fields)
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
