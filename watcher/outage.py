"""The store going away while the daemon runs: a restart, a failover, a full disk, a lock held
by another program.

Every job of the daemon touches the store, so an outage used to print a traceback per job and
per tick. It is one condition, told once when it starts (with the database's own reason), again
every few minutes while it lasts, and once when the store answers again; other errors keep
their tracebacks. Nothing is lost meanwhile: no entry is marked seen and no alert is marked
sent without the store, so the next poll and delivery round after it returns do what was due.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from watcher.durations import format_duration
from watcher.store import unavailable_reason

#: While the store stays away, its reason is logged again this often.
REMIND_EVERY = dt.timedelta(minutes=5)


@dataclass
class StoreOutage:
    """Whether the store answers, and what to say when that changes. Pure: the daemon logs
    and sends what the methods return."""

    #: The ops notifier hears of an outage that lasts this long (not of a blip while the
    #: database restarts), and then of its end.
    tell_ops_after: dt.timedelta = dt.timedelta(minutes=1)
    since: dt.datetime | None = None
    reason: str = ""
    _reminded_at: dt.datetime | None = None
    _ops_told: bool = False

    def failed(self, error: BaseException, now: dt.datetime) -> tuple[bool, str | None]:
        """Record a failed store call: whether `error` means the store is unavailable (the
        caller's error otherwise, to report as such), and the line to log now, if any."""
        reason = unavailable_reason(error)
        if reason is None:
            return False, None
        self.reason = reason
        if self.since is None:
            self.since = self._reminded_at = now
            return True, (
                f"store unavailable: {reason}; polls and deliveries wait until it answers again"
            )
        if self._reminded_at is not None and now - self._reminded_at >= REMIND_EVERY:
            self._reminded_at = now
            return True, f"store still unavailable after {self.lasted(now)}: {reason}"
        return True, None

    def ops_message(self, now: dt.datetime) -> str | None:
        """What to tell the ops notifier now: once, when the outage has lasted long enough."""
        if self.since is None or self._ops_told or now - self.since < self.tell_ops_after:
            return None
        self._ops_told = True
        return f"store unavailable for {self.lasted(now)}: {self.reason}"

    def answered(self, now: dt.datetime) -> tuple[str, bool] | None:
        """Record a store call that worked: when it ends an outage, the line to log and whether
        the ops notifier, told of it, should hear of its end too."""
        if self.since is None:
            return None
        message = f"store answers again (unavailable for {self.lasted(now)})"
        tell_ops = self._ops_told
        self.since = self._reminded_at = None
        self._ops_told = False
        return message, tell_ops

    def lasted(self, now: dt.datetime) -> str:
        lasted = now - self.since if self.since is not None else dt.timedelta(0)
        return format_duration(lasted) if lasted >= dt.timedelta(seconds=1) else "under 1s"

    def status(self, now: dt.datetime) -> str:
        """For the systemd status line: empty while the store answers."""
        if self.since is None:
            return ""
        return f", store unavailable for {self.lasted(now)}"
