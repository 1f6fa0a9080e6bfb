"""How long a feed may go without a new entry before it counts as silent (pure functions)."""

from __future__ import annotations

import datetime as dt

from watcher.config import FeedSettings, PollSettings
from watcher.silence import MIN_GAPS, SilenceLimit, learned_limit, newly_silent, silence_limit
from watcher.store import SilenceCandidate

T0 = dt.datetime(2025, 5, 19, 6, 0, tzinfo=dt.UTC)  # a Monday
HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)
QUARTER = dt.timedelta(minutes=15)


def weekdays_hourly(weeks: int) -> list[dt.datetime]:
    """A desk that posts every hour from 06:00 to 18:00 on weekdays, never at weekends."""
    return [
        T0 + week * 7 * DAY + day * DAY + hour * HOUR
        for week in range(weeks)
        for day in range(5)
        for hour in range(13)
    ]


def test_the_limit_is_twice_the_longest_gap_so_nights_and_weekends_are_no_alarm() -> None:
    limit = learned_limit(weekdays_hourly(2), factor=2.0, interval=QUARTER)

    # Friday 18:00 to Monday 06:00 is the longest gap.
    assert limit == SilenceLimit(after=2 * 60 * HOUR, longest_gap=60 * HOUR)


def test_a_feed_posting_every_ten_minutes_still_gets_an_hour() -> None:
    arrivals = [T0 + i * dt.timedelta(minutes=10) for i in range(20)]

    assert learned_limit(arrivals, factor=2.0, interval=dt.timedelta(minutes=5)) == SilenceLimit(
        after=HOUR, longest_gap=dt.timedelta(minutes=10)
    )
    # Arrivals are only seen at polls: never less than two poll intervals.
    slow_polls = learned_limit(arrivals, factor=2.0, interval=HOUR)
    assert slow_polls is not None and slow_polls.after == 2 * HOUR


def test_too_little_history_or_a_factor_of_zero_gives_no_limit() -> None:
    few = [T0 + i * HOUR for i in range(MIN_GAPS)]  # one gap short

    assert learned_limit(few, factor=2.0, interval=QUARTER) is None
    assert learned_limit([*few, T0 + 30 * HOUR], factor=2.0, interval=QUARTER) is not None
    assert learned_limit(weekdays_hourly(2), factor=0, interval=QUARTER) is None


def test_a_configured_silent_after_wins_over_the_history() -> None:
    limit = silence_limit(DAY, weekdays_hourly(2), factor=2.0, interval=QUARTER)

    assert limit == SilenceLimit(after=DAY)
    assert limit.reason() == "its silent_after is 1d"


def test_only_feeds_silent_past_their_limit_and_not_yet_marked_are_newly_silent() -> None:
    history = tuple(weekdays_hourly(2))
    last = history[-1]  # the second Friday, 18:00
    feeds = {
        name: FeedSettings(name=name, url=f"https://{name}.example/rss", interval=QUARTER)
        for name in ("desk", "marked", "young")
    }
    candidates = [
        SilenceCandidate(1, "desk", last, None, history),
        SilenceCandidate(2, "marked", last, last + DAY, history),
        SilenceCandidate(3, "young", last, None, history[:3]),
        SilenceCandidate(4, "removed-from-config", last, None, history),
    ]

    weekend = newly_silent(candidates, feeds, PollSettings(), last + 3 * DAY)
    gone = newly_silent(candidates, feeds, PollSettings(), last + 6 * DAY)

    assert weekend == []
    assert gone == [
        (
            candidates[0],
            "feed desk has gone silent: no new entry for 6d (lately it never went more than "
            "2d12h without one)",
        )
    ]
