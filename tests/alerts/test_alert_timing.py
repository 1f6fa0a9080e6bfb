"""Digest schedules, quiet hours and rate limits in the notifier's time zone."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest

from watcher.alerts.timing import (
    RateLimit,
    digest_trigger,
    in_quiet_hours,
    quiet_hours_end,
)

BERLIN = "Europe/Berlin"
NEW_YORK = "America/New_York"


def local(text: str, tz: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(tz))


def next_fires(trigger, start: dt.datetime, count: int = 3) -> list[dt.datetime]:
    fires, previous, now = [], None, start
    for _ in range(count):
        fire = trigger.get_next_fire_time(previous, now)
        fires.append(fire)
        previous, now = fire, fire + dt.timedelta(seconds=1)
    return fires


def test_hourly_digest_fires_on_the_hour():
    trigger = digest_trigger("hourly", BERLIN)

    fires = next_fires(trigger, local("2025-05-20 10:15", BERLIN))

    assert [f.strftime("%H:%M") for f in fires] == ["11:00", "12:00", "13:00"]


def test_daily_digest_keeps_local_time_across_daylight_saving():
    trigger = digest_trigger("daily 08:00", BERLIN)

    fires = next_fires(trigger, local("2025-03-29 09:00", BERLIN))

    assert [f.astimezone(dt.UTC).strftime("%m-%d %H:%M") for f in fires] == [
        "03-30 06:00",
        "03-31 06:00",
        "04-01 06:00",
    ]
    assert {f.astimezone(ZoneInfo(BERLIN)).strftime("%H:%M") for f in fires} == {"08:00"}


def test_cron_digest_in_its_time_zone():
    trigger = digest_trigger("30 7 * * mon-fri", NEW_YORK)

    fires = next_fires(trigger, local("2025-05-23 08:00", NEW_YORK))  # a Friday

    assert [f.strftime("%a %H:%M") for f in fires] == ["Mon 07:30", "Tue 07:30", "Wed 07:30"]
    assert fires[0].utcoffset() == dt.timedelta(hours=-4)


@pytest.mark.parametrize(
    ("weekdays", "days"),
    [
        ("1-5", "Mon Tue Wed Thu Fri"),
        ("0", "Sun"),
        ("7", "Sun"),
        ("5-7", "Fri Sat Sun"),
        ("0-6", "Mon Tue Wed Thu Fri Sat Sun"),
        ("*/2", "Tue Thu Sat Sun"),
        ("1-5/2", "Mon Wed Fri"),
        ("1,3,5", "Mon Wed Fri"),
        ("sat,sun", "Sat Sun"),
        ("mon-sun", "Mon Tue Wed Thu Fri Sat Sun"),
        ("mon-fri", "Mon Tue Wed Thu Fri"),
    ],
)
def test_cron_weekdays_count_as_cron_counts_them(weekdays: str, days: str) -> None:
    """0 and 7 are Sunday and 1 is Monday, as in crontab(5); APScheduler 3 alone would
    read `1-5` as Tuesday to Saturday."""
    trigger = digest_trigger(f"0 8 * * {weekdays}", BERLIN)

    week = next_fires(trigger, local("2025-05-19 00:00", BERLIN), count=7)  # from a Monday
    fired = {f.strftime("%a") for f in week if f < local("2025-05-26 00:00", BERLIN)}

    assert " ".join(d for d in "Mon Tue Wed Thu Fri Sat Sun".split() if d in fired) == days


def test_cron_day_of_month_and_weekday_both_given_fire_on_either() -> None:
    trigger = digest_trigger("0 8 1 * mon", BERLIN)

    fires = next_fires(trigger, local("2026-11-25 00:00", BERLIN), count=4)

    assert [f.strftime("%a %d %b %H:%M") for f in fires] == [
        "Mon 30 Nov 08:00",
        "Tue 01 Dec 08:00",
        "Mon 07 Dec 08:00",
        "Mon 14 Dec 08:00",
    ]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("weekly", "digest: expected 'hourly', 'daily HH:MM' or a five-field cron"),
        ("0 8 32 * mon", "digest: invalid cron expression '0 8 32 * mon'"),
        ("0 8 * * 8", "day of week '8' is not understood"),
        ("0 8 * * 5-1", "day of week '5-1' runs backwards"),
        ("daily 25:00", "got 'daily 25:00'"),
        ("0 8 * * funday", "digest: invalid cron expression '0 8 * * funday'"),
    ],
)
def test_invalid_digest_specs_say_what_was_expected(spec, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        digest_trigger(spec, BERLIN)


def test_unknown_time_zone_is_named():
    with pytest.raises(
        ValueError, match=r"timezone: expected an IANA time zone .* got 'Mars/Base'"
    ):
        digest_trigger("hourly", "Mars/Base")


@pytest.mark.parametrize(
    ("clock", "quiet"),
    [
        ("21:59", False),
        ("22:00", True),
        ("23:30", True),
        ("00:00", True),
        ("06:59", True),
        ("07:00", False),
        ("12:00", False),
    ],
)
def test_quiet_hours_across_midnight(clock, quiet):
    now = local(f"2025-05-20 {clock}", BERLIN)

    assert in_quiet_hours(now, "22:00-07:00", BERLIN) is quiet


def test_quiet_hours_are_read_in_the_notifier_time_zone():
    now = dt.datetime(2025, 5, 20, 6, 0, tzinfo=dt.UTC)  # 02:00 in New York, 08:00 in Berlin

    assert in_quiet_hours(now, "22:00-07:00", NEW_YORK)
    assert not in_quiet_hours(now, "22:00-07:00", BERLIN)


def test_quiet_hours_within_one_day():
    assert in_quiet_hours(local("2025-05-20 13:30", BERLIN), "13:00-14:00", BERLIN)
    assert not in_quiet_hours(local("2025-05-20 14:00", BERLIN), "13:00-14:00", BERLIN)


def test_quiet_hours_end_is_the_next_morning_or_the_same_morning():
    evening = quiet_hours_end(local("2025-05-20 23:30", BERLIN), "22:00-07:00", BERLIN)
    night = quiet_hours_end(local("2025-05-21 03:00", BERLIN), "22:00-07:00", BERLIN)

    assert evening == night == local("2025-05-21 07:00", BERLIN)


def test_outside_quiet_hours_alerts_may_go_now():
    now = local("2025-05-20 12:00", BERLIN)

    assert quiet_hours_end(now, "22:00-07:00", BERLIN) == now


def test_quiet_hours_end_on_daylight_saving_nights():
    # Clocks go back 03:00 → 02:00 on 2025-10-26: the night is an hour longer, 07:00 stays 07:00.
    autumn = quiet_hours_end(local("2025-10-25 23:00", BERLIN), "22:00-07:00", BERLIN)
    assert autumn == local("2025-10-26 07:00", BERLIN)
    assert autumn.astimezone(dt.UTC).hour == 6
    # Clocks jump 02:00 → 03:00 on 2025-03-30, so 02:30 never happens: quiet ends at the jump.
    spring = quiet_hours_end(local("2025-03-30 01:30", BERLIN), "01:00-02:30", BERLIN)
    assert spring == local("2025-03-30 03:00", BERLIN)
    assert not in_quiet_hours(spring, "01:00-02:30", BERLIN)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("25:00-07", "quiet_hours: expected HH:MM-HH:MM, got '25:00-07'"),
        ("22:00", "quiet_hours: expected HH:MM-HH:MM, got '22:00'"),
        ("07:00-07:00", "quiet_hours: start and end are the same time in '07:00-07:00'"),
    ],
)
def test_invalid_quiet_hours(spec, message):
    with pytest.raises(ValueError) as error:
        in_quiet_hours(local("2025-05-20 12:00", BERLIN), spec, BERLIN)
    assert str(error.value) == message


def test_naive_times_are_refused():
    with pytest.raises(ValueError, match="time-zone-aware"):
        in_quiet_hours(dt.datetime(2025, 5, 20, 12), "22:00-07:00", BERLIN)


@pytest.mark.parametrize(
    ("spec", "count", "window"),
    [
        ("20/h", 20, dt.timedelta(hours=1)),
        ("100/day", 100, dt.timedelta(days=1)),
        ("3 / minutes", 3, dt.timedelta(minutes=1)),
        ("5/10m", 5, dt.timedelta(minutes=10)),
        ("1/1h30m", 1, dt.timedelta(minutes=90)),
    ],
)
def test_rate_limit_specs(spec, count, window):
    assert RateLimit.parse(spec) == RateLimit(count, window)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("twenty/h", "rate_limit: expected COUNT/PERIOD such as '20/h' or '5/10m', got 'twenty/h'"),
        ("20", "got '20'"),
        ("20/fortnight", "got '20/fortnight'"),
        ("0/h", "rate_limit: count and period must be positive, got '0/h'"),
    ],
)
def test_invalid_rate_limits(spec, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        RateLimit.parse(spec)


def test_rate_limit_counts_sends_inside_the_sliding_window():
    limit = RateLimit.parse("3/h")
    now = dt.datetime(2025, 5, 20, 12, 0, tzinfo=dt.UTC)
    minutes_ago = [70, 50, 20, 5]
    sent = [now - dt.timedelta(minutes=m) for m in minutes_ago]

    assert not limit.allows(sent, now)
    assert limit.allows(sent[:3], now)
    assert limit.allows(sent, now + dt.timedelta(minutes=11))
    assert limit.next_allowed(sent, now) == now + dt.timedelta(minutes=10)
    assert limit.next_allowed(sent[:3], now) == now
