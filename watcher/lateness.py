"""Polls that start late: the sign that the daemon is falling behind its feeds.

The dispatcher claims each feed before it is due and polls it on time, so a poll that starts
well after its due time means every fetch slot was busy (too many feeds, slow feeds, too low a
`[http] concurrency`) or the process was held up. Peers let this happen silently: a feed set
to every 5 minutes is polled every 20 and nobody knows (research/peers.md §5, "missed
entries"). `Lateness` counts such polls over a sliding window, for a warning in the log at most
once per window and a figure in the status line `systemctl status` shows. It also remembers
when the dispatcher found every slot taken, so that the warning can tell the two causes apart:
more slots (or fewer, faster feeds) help only the first.
"""

from __future__ import annotations

import datetime as dt
from collections import deque
from dataclasses import dataclass, field

from watcher.durations import format_duration

WINDOW = dt.timedelta(minutes=10)


@dataclass(frozen=True, slots=True)
class LateSummary:
    """The late polls of the window: how many, and the furthest one started behind its due
    time."""

    polls: int
    worst: dt.timedelta
    #: The dispatcher found every fetch slot taken at least once in the window.
    slots_taken: bool


@dataclass
class Lateness:
    """Late poll starts of the last `WINDOW`. `threshold`: how late a start must be to count."""

    threshold: dt.timedelta
    _late: deque[tuple[dt.datetime, dt.timedelta]] = field(default_factory=deque)
    _slots_last_taken: dt.datetime | None = None
    _warned_at: dt.datetime | None = None

    def record(self, due: dt.datetime, started: dt.datetime) -> None:
        behind = started - due
        if behind > self.threshold:
            self._late.append((started, behind))

    def record_slots_taken(self, at: dt.datetime) -> None:
        """The dispatcher found no fetch slot left for the feeds due (or took the last ones)."""
        self._slots_last_taken = at

    def summary(self, now: dt.datetime) -> LateSummary | None:
        """The late polls of the window ending `now`; None when there were none."""
        cutoff = now - WINDOW
        while self._late and self._late[0][0] <= cutoff:
            self._late.popleft()
        if not self._late:
            return None
        worst = max(behind for _, behind in self._late)
        taken = self._slots_last_taken is not None and self._slots_last_taken > cutoff
        return LateSummary(len(self._late), worst, taken)

    def warning(self, now: dt.datetime, concurrency: int) -> str | None:
        """What to log when polls fell behind, at most once per window; else None."""
        late = self.summary(now)
        if late is None or (self._warned_at is not None and now - self._warned_at < WINDOW):
            return None
        self._warned_at = now
        behind = (
            f"polls are falling behind: {late.polls} in the last {format_duration(WINDOW)} "
            f"started more than {format_duration(self.threshold)} after they were due (up to "
            f"{format_duration(late.worst)})"
        )
        if late.slots_taken:
            return (
                f"{behind}, every fetch slot taken; raise [http] concurrency ({concurrency} at "
                "once), lengthen feed intervals, or look for slow feeds in `watcher status` "
                "(column `took`)"
            )
        return (
            f"{behind} while fetch slots were free: the process itself was held up (is the "
            "machine short of CPU or memory, or the store slow to answer?)"
        )

    def status(self, now: dt.datetime) -> str:
        """For the status line: `, 3 polls late (up to 2m5s)`, or nothing."""
        late = self.summary(now)
        if late is None:
            return ""
        return f", {late.polls} polls late (up to {format_duration(late.worst)})"
