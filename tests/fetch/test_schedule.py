"""Next-check times, error backoff and per-feed phase (pure functions, no server needed)."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from watcher.feeds.schedule import (
    BACKOFF_CAP,
    backoff_delay,
    feed_phase,
    max_age_seconds,
    next_check_at,
    retry_after_seconds,
)

NOW = dt.datetime(2025, 5, 20, 5, 30, tzinfo=dt.UTC)
MINUTE = dt.timedelta(minutes=1)
DAY = dt.timedelta(hours=24)


def _next(interval: dt.timedelta, **hints: Any) -> dt.datetime:
    """next_check_at from NOW with the usual bounds: one minute to one day."""
    return next_check_at(NOW, interval, **hints, min_interval=MINUTE, max_interval=DAY)


def _http_date(when: dt.datetime) -> str:
    return when.strftime("%a, %d %b %Y %H:%M:%S GMT")


def test_without_hints_the_feed_interval_decides() -> None:
    assert _next(15 * MINUTE) == NOW + 15 * MINUTE


@pytest.mark.parametrize(
    ("hints", "wait"),
    [
        ({"ttl_minutes": 60}, 60 * MINUTE),
        ({"cache_control": "public, max-age=1800"}, 30 * MINUTE),
        ({"cache_control": 'max-age="2400", must-revalidate'}, 40 * MINUTE),
        ({"expires": _http_date(NOW + 45 * MINUTE)}, 45 * MINUTE),
        ({"retry_after": 7200.0}, 120 * MINUTE),
        ({"ttl_minutes": 5, "cache_control": "max-age=60"}, 15 * MINUTE),
        ({"ttl_minutes": 20, "retry_after": 1500.0, "cache_control": "max-age=600"}, 25 * MINUTE),
    ],
)
def test_the_longest_server_hint_wins_over_a_shorter_interval(
    hints: dict[str, Any], wait: dt.timedelta
) -> None:
    assert _next(15 * MINUTE, **hints) == NOW + wait


def test_expires_is_read_against_the_servers_own_clock() -> None:
    server_now = NOW - dt.timedelta(hours=3)  # the server's clock is three hours behind
    hints = {"expires": _http_date(server_now + 90 * MINUTE), "date": _http_date(server_now)}

    assert _next(15 * MINUTE, **hints) == NOW + 90 * MINUTE


@pytest.mark.parametrize(
    "hints",
    [
        {"cache_control": "no-cache, max-age=86400"},
        {"cache_control": "no-store"},
        {"expires": "0"},
        {"expires": _http_date(NOW - MINUTE)},
        {"ttl_minutes": 0},
        {"cache_control": "max-age=soon"},
    ],
)
def test_hints_that_allow_no_caching_leave_the_interval(hints: dict[str, Any]) -> None:
    assert _next(15 * MINUTE, **hints) == NOW + 15 * MINUTE


def test_the_result_is_clamped_between_the_minimum_and_the_maximum() -> None:
    assert _next(dt.timedelta(seconds=5)) == NOW + MINUTE
    week = dt.timedelta(days=7)
    assert _next(MINUTE, retry_after=week.total_seconds()) == NOW + DAY
    assert _next(MINUTE, cache_control="max-age=" + "9" * 30) == NOW + DAY


def test_a_minimum_above_the_maximum_is_refused() -> None:
    with pytest.raises(ValueError, match="exceeds max_interval"):
        next_check_at(NOW, MINUTE, min_interval=dt.timedelta(hours=2), max_interval=MINUTE)


seconds = st.floats(min_value=0, max_value=10**9, allow_nan=False)
intervals = st.integers(min_value=1, max_value=10**7).map(lambda s: dt.timedelta(seconds=s))


@given(
    interval=intervals,
    ttl=st.none() | st.integers(min_value=-5, max_value=10**6),
    max_age=st.none() | st.integers(min_value=0, max_value=10**12),
    retry_after=st.none() | seconds,
    low=st.integers(min_value=0, max_value=86_400),
    span=st.integers(min_value=0, max_value=86_400 * 30),
)
def test_next_check_is_always_within_bounds_and_never_sooner_than_asked(
    interval: dt.timedelta,
    ttl: int | None,
    max_age: int | None,
    retry_after: float | None,
    low: int,
    span: int,
) -> None:
    minimum = dt.timedelta(seconds=low)
    maximum = minimum + dt.timedelta(seconds=span)
    when = next_check_at(
        NOW,
        interval,
        ttl_minutes=ttl,
        cache_control=None if max_age is None else f"max-age={max_age}",
        retry_after=retry_after,
        min_interval=minimum,
        max_interval=maximum,
    )
    assert NOW + minimum <= when <= NOW + maximum
    assert when >= NOW + min(max(interval, minimum), maximum)


def test_backoff_doubles_every_two_errors_from_the_feed_interval() -> None:
    base = 15 * MINUTE
    # rng.uniform(a, b) with random() == 1.0 gives b: the ceiling of each step.
    ceiling = random.Random()
    ceiling.random = lambda: 1.0  # type: ignore[method-assign]
    steps = [backoff_delay(n, base, rng=ceiling) / base for n in range(0, 9)]

    assert steps == [1, 1, 1, 2, 2, 4, 4, 8, 8]


def test_backoff_stops_growing_at_a_day_and_never_gives_up() -> None:
    rng = random.Random(7)
    delays = [backoff_delay(n, 15 * MINUTE, rng=rng) for n in (40, 1_000, 10**9)]

    assert all(15 * MINUTE <= delay <= BACKOFF_CAP for delay in delays)


@given(
    errors=st.integers(min_value=0, max_value=10**6),
    base=intervals,
    seed=st.integers(),
    per_doubling=st.integers(min_value=1, max_value=10),
)
def test_backoff_stays_between_the_interval_and_the_cap(
    errors: int, base: dt.timedelta, seed: int, per_doubling: int
) -> None:
    delay = backoff_delay(errors, base, rng=random.Random(seed), errors_per_doubling=per_doubling)

    assert min(base, BACKOFF_CAP) <= delay <= BACKOFF_CAP


def test_backoff_spreads_feeds_that_failed_together() -> None:
    rng = random.Random(1)
    delays = {backoff_delay(6, 15 * MINUTE, rng=rng) for _ in range(50)}

    assert len(delays) == 50


def test_a_negative_error_count_is_refused() -> None:
    with pytest.raises(ValueError, match="must not be negative"):
        backoff_delay(-1, MINUTE, rng=random.Random())


@given(url=st.text(min_size=1), interval=intervals)
def test_the_phase_is_stable_and_inside_the_interval(url: str, interval: dt.timedelta) -> None:
    phase = feed_phase(url, interval)

    assert 0 <= phase < interval.total_seconds()
    assert feed_phase(url, interval) == phase


def test_phases_of_feeds_with_the_same_interval_spread_out() -> None:
    hour = dt.timedelta(hours=1)
    phases = [feed_phase(f"https://feeds.example.org/{n}.xml", hour) for n in range(400)]
    quarters = [sum(1 for p in phases if q * 900 <= p < (q + 1) * 900) for q in range(4)]

    assert all(60 < count < 140 for count in quarters), quarters


def test_header_readers_take_what_servers_send() -> None:
    assert max_age_seconds("s-maxage=30, max-age=300") == 300
    assert max_age_seconds("private") is None
    assert retry_after_seconds(" 30 ", now=NOW, cap=60) == 30
    assert retry_after_seconds("Wednesday, 21-May-25 05:30:00 GMT", now=NOW, cap=10**9) == 86_400
