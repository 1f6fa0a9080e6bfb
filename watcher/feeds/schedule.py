"""When to poll a feed next: the server's timing hints, backoff after errors, and a per-feed phase.

Poll timing follows the server (DESIGN §9): the next check waits for the longest of the feed's
interval, the RSS `<ttl>`, `Cache-Control: max-age`, `Expires` and `Retry-After`, clamped
between the configured minimum and maximum. A failing feed backs off exponentially with jitter
but is never given up on. Everything here is a pure function: the caller passes the clock, the
header values as received, and the random source.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import hashlib
import random
import re

#: Backoff never waits longer than this: a broken feed is still tried at least once a day.
BACKOFF_CAP = dt.timedelta(hours=24)
#: `max-age` as a directive of Cache-Control, its value bare or quoted.
_MAX_AGE = re.compile(r'(?:^|[\s,])max-age\s*=\s*"?(\d+)"?', re.IGNORECASE)
_NO_REUSE = re.compile(r"(?:^|[\s,])(?:no-cache|no-store)(?:$|[\s,=])", re.IGNORECASE)


def parse_http_date(value: str | None) -> dt.datetime | None:
    """An HTTP-date (`Wed, 21 Oct 2015 07:28:00 GMT`, also the obsolete forms) in UTC, or None."""
    if not value:
        return None
    try:
        when = email.utils.parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError):
        return None
    return when.replace(tzinfo=dt.UTC) if when.tzinfo is None else when.astimezone(dt.UTC)


def _seconds_until(value: str | None, *, now: dt.datetime, server_date: str | None) -> float | None:
    """Seconds from the server's `Date` (else `now`) to the HTTP-date `value`.

    Measuring from the server's own clock keeps a skewed local clock out of the answer.
    """
    when = parse_http_date(value)
    if when is None:
        return None
    reference = parse_http_date(server_date) or now
    return (when - reference).total_seconds()


def retry_after_seconds(
    value: str | None, *, now: dt.datetime, server_date: str | None = None, cap: float
) -> float | None:
    """`Retry-After` in seconds, from either form (`120` or an HTTP-date), clamped to [0, cap].

    None when absent or unreadable. A date in the past means "now" (0).
    """
    if value is None:
        return None
    text = value.strip()
    if text.isdigit():
        seconds: float | None = float(int(text))
    else:
        seconds = _seconds_until(text, now=now, server_date=server_date)
    if seconds is None:
        return None
    return min(max(seconds, 0.0), cap)


def max_age_seconds(cache_control: str | None) -> float | None:
    """The `max-age` of a Cache-Control header in seconds; None when absent or `no-cache`."""
    if not cache_control or _NO_REUSE.search(cache_control):
        return None
    match = _MAX_AGE.search(cache_control)
    return float(match.group(1)) if match else None


def expires_seconds(
    expires: str | None, *, now: dt.datetime, server_date: str | None = None
) -> float | None:
    """How long an `Expires` header keeps the response fresh; None when absent, `0` or past."""
    seconds = _seconds_until(expires, now=now, server_date=server_date)
    return seconds if seconds is not None and seconds > 0 else None


def expired_at_once(expires: str | None) -> bool:
    """`Expires: 0` (or `-1`): the server calls its answer stale as it sends it, and its
    validators are not trusted: servers that say so are often the ones whose ETag or
    Last-Modified does not follow the content (Miniflux ignores them then too)."""
    return expires is not None and expires.strip() in ("0", "-1")


def next_check_at(
    now: dt.datetime,
    interval: dt.timedelta,
    *,
    ttl_minutes: int | None = None,
    cache_control: str | None = None,
    expires: str | None = None,
    date: str | None = None,
    retry_after: float | None = None,
    min_interval: dt.timedelta,
    max_interval: dt.timedelta,
) -> dt.datetime:
    """When to poll next after a poll at `now` (an aware datetime).

    The wait is the longest of `interval`, the feed's RSS `<ttl>` (minutes), the response's
    `Cache-Control` max-age and `Expires` (header values as received; `date` is the response's
    `Date` header, so Expires is read against the server's clock) and `retry_after` (seconds,
    as `FetchResult.retry_after` gives it), then clamped to [min_interval, max_interval]: a
    server can slow us down, but never stop us or make us poll faster than the floor.
    """
    if min_interval > max_interval:
        raise ValueError(f"min_interval {min_interval} exceeds max_interval {max_interval}")
    hints = [interval]
    seconds_hints = (
        ttl_minutes * 60.0 if ttl_minutes and ttl_minutes > 0 else None,
        max_age_seconds(cache_control),
        expires_seconds(expires, now=now, server_date=date),
        retry_after,
    )
    # Cap a hint before it becomes a timedelta: a server saying max-age=10^20 must not overflow.
    ceiling = max_interval.total_seconds()
    hints += [dt.timedelta(seconds=min(s, ceiling)) for s in seconds_hints if s is not None]
    return now + min(max(max(hints), min_interval), max_interval)


def backoff_delay(
    error_count: int,
    base_interval: dt.timedelta,
    *,
    rng: random.Random,
    errors_per_doubling: int = 2,
    cap: dt.timedelta = BACKOFF_CAP,
) -> dt.timedelta:
    """How long to wait before polling a feed that failed `error_count` times in a row.

    The ceiling doubles every `errors_per_doubling` consecutive errors, starting at the feed's
    own interval (errors 1–2: 1×, 3–4: 2×, 5–6: 4×, …) and stops at `cap` (24 h). The delay is
    drawn uniformly between the interval and that ceiling ("full jitter" above the regular
    interval), so failing feeds spread out instead of retrying in lockstep, and a failing feed
    is never polled more often than a healthy one. There is no count after which a feed is
    given up: the delay simply stays at most `cap`.
    """
    if error_count < 0:
        raise ValueError(f"error_count must not be negative, not {error_count}")
    if errors_per_doubling < 1:
        raise ValueError(f"errors_per_doubling must be at least 1, not {errors_per_doubling}")
    floor = min(base_interval, cap).total_seconds()
    if error_count == 0:
        return dt.timedelta(seconds=floor)
    # Bounded exponent: 2**64 intervals are far past any cap and still a finite float.
    doublings = min((error_count - 1) // errors_per_doubling, 64)
    ceiling = min(cap.total_seconds(), base_interval.total_seconds() * 2.0**doublings)
    return dt.timedelta(seconds=rng.uniform(floor, ceiling))


def feed_phase(feed_url: str, interval: dt.timedelta) -> float:
    """A stable offset in [0, interval) seconds for this feed, the same in every process.

    Feeds added together with the same interval would otherwise all fall due in the same
    tick; starting each at `now + feed_phase(...)` spreads them evenly across the interval.
    """
    steps = interval // dt.timedelta(microseconds=1)
    if steps <= 0:
        return 0.0
    digest = hashlib.sha256(feed_url.encode("utf-8")).digest()
    # Whole microseconds, so the phase can never round up to the interval itself.
    return (int.from_bytes(digest[:8], "big") % steps) / 1_000_000
