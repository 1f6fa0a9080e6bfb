"""Feeds that have gone silent: no new entry for far longer than their own rhythm allows.

A feed can fail without an error: the publisher's CMS stops exporting, a section is retired, a
redirect lands on a page that still parses as an empty feed. Users of every peer ask to be told
(research/peers.md §4 #2, §7.5), and a fixed "no entry for N days" is wrong for nearly every
feed: a wire service is silent for ten minutes, a weekly column for a week. So each feed's
limit is learned from its own history: the times its remembered entries arrived (the poll that
first saw them; the store keeps those of the retention window and older ones the feed still
lists), and the longest gap between two of them — which already holds its nights, weekends and
holidays. A feed has gone silent when its silence has lasted `factor`
times that gap. With too little history no limit is guessed; a feed's own `silent_after`
setting states one outright.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from watcher.config import FeedSettings, PollSettings
from watcher.durations import format_duration
from watcher.store import SilenceCandidate

#: Gaps between arrivals needed before a feed's rhythm is trusted.
MIN_GAPS = 7
#: No learned limit is shorter than this, nor than two poll intervals (arrivals are only
#: seen at polls, so shorter gaps cannot be told apart).
FLOOR = dt.timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class SilenceLimit:
    """How long a feed may go without a new entry, and where that figure comes from."""

    after: dt.timedelta
    #: The longest gap between arrivals it was learned from; None when configured.
    longest_gap: dt.timedelta | None = None

    def reason(self) -> str:
        if self.longest_gap is None:
            return f"its silent_after is {format_duration(self.after)}"
        return f"lately it never went more than {format_duration(self.longest_gap)} without one"


def learned_limit(
    arrivals: Sequence[dt.datetime], *, factor: float, interval: dt.timedelta
) -> SilenceLimit | None:
    """`factor` times the longest gap between consecutive `arrivals` (sorted, distinct), at
    least `FLOOR` and two `interval`s; None when `factor` is 0 or the history holds fewer
    than `MIN_GAPS` gaps."""
    if factor <= 0 or len(arrivals) < MIN_GAPS + 1:
        return None
    longest = max(later - earlier for earlier, later in itertools.pairwise(arrivals))
    return SilenceLimit(max(longest * factor, FLOOR, 2 * interval), longest)


def silence_limit(
    configured: dt.timedelta | None,
    arrivals: Sequence[dt.datetime],
    *,
    factor: float,
    interval: dt.timedelta,
) -> SilenceLimit | None:
    """The feed's own `silent_after` when set, else the limit learned from its arrivals."""
    if configured is not None:
        return SilenceLimit(configured)
    return learned_limit(arrivals, factor=factor, interval=interval)


def gone_silent_message(feed: str, silent: dt.timedelta, limit: SilenceLimit) -> str:
    return (
        f"feed {feed} has gone silent: no new entry for {format_duration(silent)} "
        f"({limit.reason()})"
    )


def posting_again_message(feed: str, silent_for: dt.timedelta) -> str:
    return (
        f"feed {feed} is posting again: a new entry {format_duration(silent_for)} after it was "
        "found silent"
    )


def newly_silent(
    candidates: Sequence[SilenceCandidate],
    feeds: Mapping[str, FeedSettings],
    poll: PollSettings,
    now: dt.datetime,
) -> list[tuple[SilenceCandidate, str]]:
    """The configured feeds among `candidates` that have just gone silent (not yet marked so),
    each with the message that says it."""
    found = []
    for candidate in candidates:
        feed = feeds.get(candidate.name)
        if feed is None or candidate.silent_since is not None:
            continue
        limit = silence_limit(
            feed.silent_after,
            candidate.arrivals,
            factor=poll.silence_factor,
            interval=feed.interval or poll.interval,
        )
        silent = now - candidate.last_arrival
        if limit is not None and silent > limit.after:
            found.append((candidate, gone_silent_message(feed.name, silent, limit)))
    return found
