"""Counting polls that start late: what the warning and the status line say, and when."""

from __future__ import annotations

import datetime as dt

from watcher.lateness import Lateness

T0 = dt.datetime(2026, 5, 1, 9, 0, tzinfo=dt.UTC)
SECOND = dt.timedelta(seconds=1)
MINUTE = dt.timedelta(minutes=1)


def test_only_starts_later_than_the_threshold_count() -> None:
    lateness = Lateness(MINUTE)
    lateness.record(due=T0, started=T0 + 59 * SECOND)
    assert lateness.status(T0 + MINUTE) == ""
    lateness.record(due=T0, started=T0 + 2 * MINUTE + 5 * SECOND)
    lateness.record(due=T0 + MINUTE, started=T0 + 2 * MINUTE + 10 * SECOND)
    assert lateness.status(T0 + 3 * MINUTE) == ", 2 polls late (up to 2m5s)"


def test_late_polls_older_than_ten_minutes_are_forgotten() -> None:
    lateness = Lateness(MINUTE)
    lateness.record(due=T0, started=T0 + 5 * MINUTE)
    assert lateness.summary(T0 + 14 * MINUTE) is not None
    assert lateness.summary(T0 + 15 * MINUTE) is None
    assert lateness.warning(T0 + 15 * MINUTE, concurrency=20) is None


def test_the_warning_comes_at_most_once_in_ten_minutes() -> None:
    lateness = Lateness(MINUTE)
    lateness.record_slots_taken(T0 + MINUTE)
    lateness.record(due=T0, started=T0 + 3 * MINUTE)
    first = lateness.warning(T0 + 3 * MINUTE, concurrency=20)
    assert first == (
        "polls are falling behind: 1 in the last 10m started more than 1m after they were due "
        "(up to 3m), every fetch slot taken; raise [http] concurrency (20 at once), lengthen "
        "feed intervals, or look for slow feeds in `watcher status` (column `took`)"
    )
    lateness.record(due=T0 + 4 * MINUTE, started=T0 + 6 * MINUTE)
    assert lateness.warning(T0 + 12 * MINUTE, concurrency=20) is None
    again = lateness.warning(T0 + 13 * MINUTE, concurrency=20)
    assert again is not None and again.startswith("polls are falling behind: 1 in the last 10m")


def test_late_polls_with_slots_to_spare_blame_the_process_not_the_concurrency() -> None:
    lateness = Lateness(MINUTE)
    lateness.record_slots_taken(T0)  # long before: out of the window by the time it warns
    lateness.record(due=T0 + 12 * MINUTE, started=T0 + 14 * MINUTE)

    warning = lateness.warning(T0 + 14 * MINUTE, concurrency=20)

    assert warning == (
        "polls are falling behind: 1 in the last 10m started more than 1m after they were due "
        "(up to 2m) while fetch slots were free: the process itself was held up (is the machine "
        "short of CPU or memory, or the store slow to answer?)"
    )
