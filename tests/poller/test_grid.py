"""Feeds keep their own deterministic phase, so equal intervals do not bunch up."""

from __future__ import annotations

import datetime as dt
import itertools

from watcher.feeds.schedule import feed_phase
from watcher.poller import on_grid

INTERVAL = dt.timedelta(minutes=15)
START = dt.datetime(2026, 11, 29, 12, 0, 3, tzinfo=dt.UTC)


def test_polls_stay_on_the_feed_grid_despite_late_starts() -> None:
    phase = feed_phase("https://example.org/feed", INTERVAL)
    now = START
    times = []
    for late in (4, 11, 2, 37):  # each poll starts and ends a little late
        now = now + dt.timedelta(seconds=late)
        nxt = on_grid(now + INTERVAL, INTERVAL, phase, earliest=now + dt.timedelta(minutes=1))
        times.append(nxt)
        now = nxt
    offsets = {round((t.timestamp() - phase) % INTERVAL.total_seconds(), 6) for t in times}
    assert offsets == {0.0}
    gaps = {b - a for a, b in itertools.pairwise(times)}
    assert gaps == {INTERVAL}


def test_feeds_with_one_interval_spread_out() -> None:
    urls = [f"https://site{i}.example/feed" for i in range(50)]
    slots = {
        on_grid(START + INTERVAL, INTERVAL, feed_phase(u, INTERVAL), earliest=START).minute // 3
        for u in urls
    }
    assert len(slots) >= 4  # spread over the 15 minutes, not all at one instant


def test_never_before_the_minimum_wait() -> None:
    earliest = START + dt.timedelta(minutes=14)
    assert on_grid(START + INTERVAL, INTERVAL, 0.0, earliest=earliest) >= earliest
