"""The daemon: scheduler wiring, signals, sd_notify and the watchdog (DESIGN §1, research §3, §5).

Jobs (APScheduler 3, AsyncIOScheduler): a dispatcher claims due feeds and polls them with
bounded concurrency; an outbox job delivers immediate alerts; one cron job per digest notifier;
a maintenance job prunes old state; a watchdog job pings systemd only while the scheduler and
the store are healthy. SIGTERM/SIGINT drain in-flight polls within a deadline; SIGHUP reloads
config and rules atomically (invalid new ones are reported, the old ones kept).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
import signal
import socket
import sys
import time
import uuid
from collections.abc import Coroutine
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import TextIO

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from watcher.alerts.compose import Message
from watcher.alerts.dispatch import deliver
from watcher.alerts.outbox import Deliverer
from watcher.alerts.routes import unknown_notifiers
from watcher.alerts.timing import digest_trigger, in_quiet_hours, quiet_hours_end
from watcher.config import ConfigError, Settings, load_settings
from watcher.feeds.fetch import Fetcher, quiet_noisy_loggers, redact_url
from watcher.lateness import Lateness
from watcher.matching import LoadedRuleSet, load_ruleset
from watcher.outage import REMIND_EVERY, StoreOutage
from watcher.poller import Poller, PollReport, paused_report, poll_every_feed
from watcher.runtime import (
    freeze_long_lived_objects,
    http_limits,
    needing_restart,
    parser_pool,
)
from watcher.sdnotify import Notifier
from watcher.silence import newly_silent, posting_again_message
from watcher.store import FeedRow, Store, StoreUnavailable

log = logging.getLogger(__name__)

#: A store that cannot be opened at start is tried again after this many seconds, doubling up
#: to the longest.
FIRST_RETRY = 1.0
LONGEST_RETRY = 30.0

JOB_DEFAULTS = {"coalesce": True, "max_instances": 1, "misfire_grace_time": None}


def new_scheduler() -> AsyncIOScheduler:
    """The daemon's scheduler. A job whose time passed while the loop was held up (a slow
    store call, a suspended machine) runs once as soon as it can: never skipped as missed,
    which APScheduler's defaults do to runs over a second late (research/reliability.md §0.5,
    §3.2), nor run again for every time it missed."""
    return AsyncIOScheduler(job_defaults=JOB_DEFAULTS, timezone=dt.UTC)


def owner_id() -> str:
    """This process's name on leases: host, pid and a random part (pids are reused)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _gone_from_this_host(owner: str) -> bool:
    """Whether a lease owner was a process of this host that is no longer running."""
    host, _, rest = owner.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # running, as another user
        return False
    return False


def load_rules_or_report(settings: Settings) -> LoadedRuleSet:
    loaded = load_ruleset(settings.rules.paths)
    for problem in [*loaded.problems, *unknown_notifiers(loaded.loaded.rules, settings)]:
        log.warning("%s", problem)
    return loaded


@dataclass(slots=True)
class Daemon:
    config_path: Path | None
    settings: Settings
    rules: LoadedRuleSet
    store: Store
    once: bool = False
    dry_run: bool = False
    stream: TextIO | None = None
    owner: str = field(default_factory=owner_id)
    notifier: Notifier = field(default_factory=Notifier)
    reports: list[PollReport] = field(default_factory=list)
    _polls: set[asyncio.Task] = field(default_factory=set)
    # Deliveries and digests in flight: drained on stop like polls, so that a message that
    # went out is also marked sent (a cancelled send would be sent again after a restart).
    _sends: set[asyncio.Task] = field(default_factory=set)
    # The loop keeps only weak references to tasks: a reload must not vanish half way.
    _reloads: set[asyncio.Task] = field(default_factory=set)
    _reload_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _last_dispatch: float = field(default_factory=time.monotonic)
    _started_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    _lateness: Lateness = field(init=False)
    # How many feeds the last silence check found silent, for the status line.
    _silent_feeds: int = 0
    _outage: StoreOutage = field(default_factory=StoreOutage)
    # A reload's feed list that the store has not taken yet (it was unavailable).
    _feeds_unsynced: bool = False
    # Feeds whose polls the store's going away broke: their leases go back once it answers.
    _polls_broken: set[int] = field(default_factory=set)
    _scheduler: AsyncIOScheduler | None = None
    _poller: Poller | None = None
    _deliverer: Deliverer | None = None

    @classmethod
    def start(
        cls,
        config_path: Path | None,
        *,
        once: bool = False,
        dry_run: bool = False,
        stream: TextIO | None = None,
    ) -> Daemon:
        """Load config, rules and store; raises ConfigError or StoreError when they are unusable."""
        settings = load_settings(config_path)
        rules = load_rules_or_report(settings)
        store = Store.open(settings.store.url)
        return cls(config_path, settings, rules, store, once, dry_run, stream)

    # -- the run -----------------------------------------------------------------------------

    def __post_init__(self) -> None:
        self._lateness = Lateness(self.settings.poll.late_after)
        self._outage.tell_ops_after = self.settings.alerts.store_outage_after

    async def run(self) -> int:
        quiet_noisy_loggers()
        now = self._started_at = dt.datetime.now(dt.UTC)
        self.store.sync_feeds([f for f in self.settings.feeds if f.enabled], now)
        self._release_leases_of_dead_processes()
        async with Fetcher(http_limits(self.settings.http)) as fetcher:
            parser = parser_pool(self.settings.poll)
            try:
                self._poller = Poller(
                    self.settings, self.store, fetcher, parser, self.rules.ruleset
                )
                self._deliverer = Deliverer(
                    self.settings, self.store, self.owner, self.stream, stopping=self._stop.is_set
                )
                freeze_long_lived_objects()
                if self.once:
                    await self._cycle()
                else:
                    await self._serve()
            finally:
                parser.close()
                self.store.release_leases(self.owner)
        return 0

    def _release_leases_of_dead_processes(self) -> None:
        """A daemon killed on this host (SIGKILL, out of memory, power) left its feeds and
        alerts leased; they would wait for the leases to run out (minutes) after a restart."""
        for owner in sorted(self.store.lease_owners()):
            if _gone_from_this_host(owner):
                self.store.release_leases(owner)
                log.info("released the leases of %s, which is no longer running", owner)

    async def _cycle(self) -> None:
        """Poll every configured feed now, then deliver what is due, digests included
        (`--once`)."""
        await poll_every_feed(self.store, self.owner, self.settings, self._poll, self._paused)
        if not self.dry_run:
            await self._deliver()
            assert self._deliverer is not None
            try:
                await self._deliverer.send_due_digests()
            except Exception as error:
                self._store_failed(error, "digests failed; their alerts stay queued")

    async def _serve(self) -> None:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self._stop.set)
        loop.add_signal_handler(signal.SIGHUP, self._reload_soon)
        scheduler = new_scheduler()
        self._scheduler = scheduler
        tick = self.settings.poll.tick.total_seconds()
        scheduler.add_job(
            self._dispatch,
            IntervalTrigger(seconds=tick),
            id="dispatch",
            next_run_time=dt.datetime.now(dt.UTC),
        )
        if not self.dry_run:
            scheduler.add_job(
                self._deliver_tick,
                IntervalTrigger(seconds=self.settings.alerts.tick.total_seconds()),
                id="outbox",
            )
            self._schedule_digests()
            # A dry run would mark feeds silent with no one told, and the real run never tell.
            scheduler.add_job(
                self._check_silence,
                IntervalTrigger(seconds=self.settings.poll.silence_check.total_seconds()),
                id="silence",
            )
        scheduler.add_job(
            self._maintain,
            IntervalTrigger(hours=1),
            id="maintain",
            next_run_time=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1),
        )
        interval = self.notifier.watchdog_interval()
        if interval:
            scheduler.add_job(self._watchdog, IntervalTrigger(seconds=interval), id="watchdog")
        scheduler.start()
        self.notifier.ready(self._status_line())
        log.info(
            "watcher running: %d feeds, %d rules, store %s",
            len(self.settings.feeds),
            len(self.rules.ruleset),
            self.store.where,
        )
        await self._stop.wait()
        self.notifier.stopping("draining")
        log.info(
            "stopping: draining %d polls and %d sends in flight", len(self._polls), len(self._sends)
        )
        scheduler.pause()
        await self._drain()
        # Our own tasks are done; shutdown would cancel running coroutine jobs (research §3.6).
        scheduler.shutdown(wait=False)

    async def _drain(self) -> None:
        in_flight = self._polls | self._sends
        if not in_flight:
            return
        _, pending = await asyncio.wait(in_flight, timeout=self.settings.poll.drain.total_seconds())
        for task in pending:
            task.cancel()
        if pending:
            polls = len(pending & self._polls)
            log.warning(
                "gave up waiting for %d polls and %d sends; their leases are given back",
                polls,
                len(pending) - polls,
            )
            await asyncio.gather(*pending, return_exceptions=True)

    # -- jobs --------------------------------------------------------------------------------

    async def _dispatch(self) -> None:
        self._last_dispatch = time.monotonic()
        if self._stop.is_set():
            return
        now = dt.datetime.now(dt.UTC)
        warning = self._lateness.warning(now, self.settings.http.concurrency)
        if warning:
            log.warning("%s", warning)
        free = self.settings.http.concurrency - len(self._polls)
        if free <= 0:
            self._lateness.record_slots_taken(now)
            return
        try:
            if self._feeds_unsynced:
                await asyncio.to_thread(self._sync_feeds)
            if self._polls_broken:
                broken = set(self._polls_broken)
                await asyncio.to_thread(self.store.release_feeds, self.owner, broken)
                self._polls_broken -= broken
            # Feeds due before the next tick are claimed now and polled at their due time, so
            # a feed is never polled up to a whole tick late (nor early).
            rows = await asyncio.to_thread(
                self.store.claim_due_feeds,
                self.owner,
                now,
                limit=free,
                lease_seconds=self.settings.poll.lease.total_seconds(),
                due_by=now + self.settings.poll.tick,
            )
        except Exception as error:
            self._store_failed(error, "claiming due feeds failed; trying again on the next tick")
            return
        self._store_answered()
        if len(rows) == free:  # perhaps more were due: they wait for a free slot
            self._lateness.record_slots_taken(now)
        for row in rows:
            task = asyncio.ensure_future(self._poll_when_due(row))
            self._polls.add(task)
            task.add_done_callback(self._polls.discard)

    async def _poll_when_due(self, row) -> PollReport | None:
        wait = (row.next_check_at - dt.datetime.now(dt.UTC)).total_seconds()
        if wait > 0:
            try:
                await asyncio.wait_for(self._stop.wait(), timeout=wait)
            except TimeoutError:
                pass
            else:  # stopping: the lease is given back on exit, the feed stays due
                return None
        # Feeds overdue when the daemon started count from the start.
        due, started = max(row.next_check_at, self._started_at), dt.datetime.now(dt.UTC)
        self._lateness.record(due, started)
        return await self._poll(row, late=started - due)

    def _paused(self, row: FeedRow, until: dt.datetime) -> PollReport:
        report = paused_report(row, until)
        self.reports.append(report)
        _log_report(report)
        return report

    async def _poll(self, row, late: dt.timedelta = dt.timedelta(0)) -> PollReport | None:
        assert self._poller is not None
        try:
            report = await self._poller.poll(row, late=late)
        except Exception as error:  # one feed never stops the others
            if self._store_failed(error, f"{row.name}: poll failed unexpectedly"):
                self._polls_broken.add(row.id)
            return None
        if self.once:  # `watcher poll` prints them; a long-running daemon keeps none
            self.reports.append(report)
        _log_report(report)
        if report.alerts and not self.dry_run and self._scheduler is not None:
            # Alerts go out now rather than on the next outbox tick: minutes count.
            await self._deliver_tick()
        await self._tell_ops(report, row.error_count)
        if report.silence_ended is not None:
            self._silent_feeds = max(self._silent_feeds - 1, 0)
            silent_for = dt.datetime.now(dt.UTC) - report.silence_ended
            text = posting_again_message(row.name, silent_for)
            log.info("%s", text)
            await self._send_ops(text)
        if self.dry_run:
            for entry, matches in report.matches:
                for match in matches:
                    print(
                        f"[dry-run] {match.severity.upper()} {match.rule_id}: "
                        f"{entry.article.title}",
                        file=self.stream or sys.stdout,
                        flush=True,
                    )
        return report

    async def _tell_ops(self, report: PollReport, errors_before: int) -> None:
        """Tell the ops notifier when a feed breaks (N errors in a row), when it recovers, when
        a 410 stops it and when a permanent redirect moves it."""
        threshold = self.settings.poll.broken_after_errors
        if report.paused:
            return
        if report.status == HTTPStatus.GONE:
            text = f"feed {report.feed} is {_STOPPED.format(feed=report.feed)}"
        elif report.moved_to is not None:
            text = f"feed {report.feed} {_MOVED.format(url=redact_url(report.moved_to))}"
        elif report.error is not None and errors_before + 1 == threshold:
            text = f"feed {report.feed} is broken: {report.error} ({threshold} errors in a row)"
        elif report.error is None and errors_before >= threshold:
            text = f"feed {report.feed} recovered after {errors_before} errors in a row"
        else:
            return
        await self._send_ops(text)

    async def _send_ops(self, text: str) -> None:
        """Send `text` to the ops notifier, if there is one (not in a dry run)."""
        name = self.settings.alerts.ops_notifier
        if not name or self.dry_run or name not in self.settings.notifiers:
            return
        message = Message(title=f"[watcher] {text}", body=text, body_format="text", text_body=text)
        delivery = await deliver(name, self.settings.notifiers[name], message, stream=self.stream)
        if not delivery.ok:
            log.error("could not tell %s that %s: %s", name, text, delivery.error)

    async def _check_silence(self) -> None:
        """Mark the feeds that have gone silent, and tell the ops notifier."""
        now = dt.datetime.now(dt.UTC)
        poll = self.settings.poll
        try:
            candidates = await asyncio.to_thread(self.store.silence_candidates)
            feeds = {feed.name: feed for feed in self.settings.feeds if feed.enabled}
            found = newly_silent(candidates, feeds, poll, now)
            marked = [c for c in candidates if c.silent_since is not None and c.name in feeds]
            self._silent_feeds = len(marked) + len(found)
            for candidate, text in found:
                if await asyncio.to_thread(self.store.mark_silent, candidate.id, now):
                    log.warning("%s", text)
                    await self._send_ops(text)
        except Exception as error:
            self._store_failed(error, "looking for silent feeds failed; trying again later")

    async def _deliver_tick(self) -> None:
        """Start a delivery round unless one still runs (a slow server can hold it for long)."""
        if self._stop.is_set() or any(t.get_name() == "outbox" for t in self._sends):
            return
        self._track_send(self._deliver(), "outbox")

    async def _digest_tick(self, notifier: str) -> None:
        if not self._stop.is_set():
            self._track_send(self._digest(notifier), f"digest:{notifier}")

    def _track_send(self, work: Coroutine[None, None, None], name: str) -> None:
        task = asyncio.get_running_loop().create_task(work, name=name)
        self._sends.add(task)
        task.add_done_callback(self._sends.discard)

    async def _deliver(self) -> None:
        assert self._deliverer is not None
        try:
            await self._deliverer.deliver_due()
        except Exception as error:
            self._store_failed(error, "outbox delivery failed; retrying on the next tick")

    async def _digest(self, notifier: str) -> None:
        assert self._deliverer is not None
        settings = self.settings.notifiers.get(notifier)
        now = dt.datetime.now(dt.UTC)
        quiet = settings.quiet_hours if settings else None
        if quiet and settings and in_quiet_hours(now, quiet, settings.timezone):
            # Its next time may fall in quiet hours again: the digest goes when they end.
            until = quiet_hours_end(now, quiet, settings.timezone)
            assert self._scheduler is not None
            self._scheduler.add_job(
                self._digest_tick,
                DateTrigger(until),
                args=[notifier],
                id=f"digest-after-quiet-hours:{notifier}",
                replace_existing=True,
            )
            log.info("digest for %s: quiet hours, sent at %s", notifier, until.astimezone())
            return
        try:
            await self._deliverer.send_digest(notifier)
        except Exception as error:
            self._store_failed(error, f"digest for {notifier} failed; its alerts stay queued")

    async def _maintain(self) -> None:
        keep_days = self.settings.poll.retention.total_seconds() / 86400
        try:
            result = await asyncio.to_thread(self.store.prune, dt.datetime.now(dt.UTC), keep_days)
            log.info("pruned %s", result)
        except Exception as error:
            self._store_failed(error, "pruning failed")

    async def _watchdog(self) -> None:
        """Ping systemd only when the dispatcher ticks and the store answers, if only to say
        it is unavailable: a restart cannot bring a database back, and restarting again and
        again would leave the unit failed (StartLimitBurst) when it returns."""
        stale = (
            time.monotonic() - self._last_dispatch > 3 * self.settings.poll.tick.total_seconds() + 5
        )
        try:
            await asyncio.wait_for(asyncio.to_thread(self.store.ping), timeout=10)
        except TimeoutError:
            log.error("store does not answer within 10 s: withholding the watchdog ping")
            return
        except Exception as error:
            if not self._store_failed(error, "store ping failed: withholding the watchdog ping"):
                return
        else:
            self._store_answered()
        if stale or self._scheduler is None or not self._scheduler.running:
            log.error("dispatcher is stuck: withholding the watchdog ping")
            return
        self.notifier.watchdog()
        self.notifier.status(self._status_line())

    def _store_failed(self, error: Exception, what: str) -> bool:
        """Report a failed job: a store outage as one line when it starts (and now and then
        while it lasts), anything else as `what` with its traceback. True for an outage."""
        now = dt.datetime.now(dt.UTC)
        unavailable, line = self._outage.failed(error, now)
        if not unavailable:
            log.error("%s", what, exc_info=error)
            return False
        if line:
            log.error("%s", line)
        text = self._outage.ops_message(now)
        if text and not self._stop.is_set():
            self._track_send(self._send_ops(text), "ops")
        return True

    def _store_answered(self) -> None:
        ended = self._outage.answered(dt.datetime.now(dt.UTC))
        if ended is None:
            return
        line, tell_ops = ended
        log.warning("%s", line)
        if tell_ops and not self._stop.is_set():
            self._track_send(self._send_ops(line), "ops")

    def _sync_feeds(self) -> None:
        feeds = [f for f in self.settings.feeds if f.enabled]
        self.store.sync_feeds(feeds, dt.datetime.now(dt.UTC))
        self._feeds_unsynced = False

    def _schedule_digests(self) -> None:
        assert self._scheduler is not None
        for job in self._scheduler.get_jobs():
            if job.id.startswith("digest:"):
                job.remove()
        for name, notifier in self.settings.notifiers.items():
            if notifier.digest:
                self._scheduler.add_job(
                    self._digest_tick,
                    digest_trigger(notifier.digest, notifier.timezone),
                    args=[name],
                    id=f"digest:{name}",
                )

    # -- reload ------------------------------------------------------------------------------

    def _reload_soon(self) -> None:
        if self._stop.is_set():
            log.info("SIGHUP while stopping: not reloading")
            return
        task = asyncio.ensure_future(self.reload())
        self._reloads.add(task)
        task.add_done_callback(self._reloads.discard)

    async def reload(self) -> bool:
        """Swap in new config and rules, or keep the old ones when the new ones are invalid."""
        # Two SIGHUPs in a row reload one after the other, so the newer files win.
        async with self._reload_lock:
            try:
                return await self._reload()
            except Exception:
                # Never left RELOADING: systemd would wait on `systemctl reload` for ever.
                log.exception("reload failed")
                self.notifier.ready(self._status_line())
                return False

    async def _reload(self) -> bool:
        self.notifier.reloading("reloading config and rules")
        try:
            settings = await asyncio.to_thread(load_settings, self.config_path)
            rules = await asyncio.to_thread(load_ruleset, settings.rules.paths)
        except ConfigError as error:
            for problem in error.problems:
                log.error("reload refused: %s", problem)
            self.notifier.ready(self._status_line())
            return False
        if rules.errors:
            for problem in rules.problems:
                log.error("reload refused: %s", problem)
            self.notifier.ready(self._status_line())
            return False
        for problem in [*rules.problems, *unknown_notifiers(rules.loaded.rules, settings)]:
            log.warning("%s", problem)  # warnings only: errors refused the reload above
        for changed in needing_restart(self.settings, settings):
            log.warning("reload: %s changed: takes effect at the next restart", changed)
        self.settings, self.rules = settings, rules
        self._lateness.threshold = settings.poll.late_after
        self._outage.tell_ops_after = settings.alerts.store_outage_after
        assert self._poller is not None and self._deliverer is not None
        self._poller.reconfigure(settings, rules.ruleset)
        self._deliverer.settings = settings
        try:
            await asyncio.to_thread(self._sync_feeds)
        except Exception as error:
            # During an outage, the dispatcher stores the list once the store answers.
            self._feeds_unsynced = self._store_failed(error, "reload: storing the feeds failed")
        if self._scheduler is not None and not self.dry_run:
            every = settings.poll.silence_check.total_seconds()
            self._scheduler.reschedule_job("silence", trigger=IntervalTrigger(seconds=every))
            self._schedule_digests()
        freeze_long_lived_objects()
        log.info("reloaded: %d feeds, %d rules", len(settings.feeds), len(rules.ruleset))
        self.notifier.ready(self._status_line())
        return True

    def _status_line(self) -> str:
        feeds, rules = len(self.settings.feeds), len(self.rules.ruleset)
        late = self._lateness.status(dt.datetime.now(dt.UTC))
        silent = self._silent_feeds
        silence = f", {silent} silent feed{'' if silent == 1 else 's'}" if silent else ""
        outage = self._outage.status(dt.datetime.now(dt.UTC))
        return f"{feeds} feeds, {rules} rules, {len(self._polls)} polling{late}{silence}{outage}"


_STOPPED = "gone (HTTP 410): stopped until `watcher enable {feed}` or a new URL in the config"
_MOVED = "moved permanently to {url}: polled there from now on; put that URL in the config"


def _log_report(report: PollReport) -> None:
    if report.status == HTTPStatus.GONE:
        log.warning("%s: %s", report.feed, _STOPPED.format(feed=report.feed))
    elif report.moved_to is not None:
        log.warning("%s: %s", report.feed, _MOVED.format(url=redact_url(report.moved_to)))
    if report.error:
        log.warning("%s: %s", report.feed, report.error)
    elif report.new or report.alerts:
        log.info(
            "%s: %d entries, %d new, %d alerts queued",
            report.feed,
            report.entries,
            report.new,
            report.alerts,
        )
    for problem in report.problems[:5]:
        log.info("%s: %s", report.feed, problem)


def configure_logging(level: int = logging.INFO) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    quiet_noisy_loggers()
    if level > logging.DEBUG:
        # APScheduler logs every run of every job at INFO: lines per tick, drowning the journal.
        # Its warnings (missed runs) and errors (a job that raised) still come through.
        logging.getLogger("apscheduler").setLevel(logging.WARNING)
    scheduler_log = logging.getLogger("apscheduler.scheduler")
    if not any(isinstance(f, _DispatchStillRunning) for f in scheduler_log.filters):
        scheduler_log.addFilter(_DispatchStillRunning())


class _DispatchStillRunning(logging.Filter):
    """Drops APScheduler's warning that a dispatcher tick was skipped because the previous one
    still runs: a locked or slow store holds every tick up, and the outage and lateness
    warnings say so once, where this one would repeat every tick."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not ("Daemon._dispatch" in message and "maximum number of running" in message)


def start_when_the_store_answers(
    config_path: Path | None, *, dry_run: bool = False, stream: TextIO | None = None
) -> Daemon:
    """`Daemon.start`, waiting for a store that cannot be opened yet (the database is down,
    still starting, or locked) instead of exiting: under systemd an exit means a restart every
    few seconds, and after `StartLimitBurst` of them a unit left failed when the database
    returns. systemd hears what it waits for (`STATUS=`), and that the start is not stuck."""
    notifier = Notifier()
    delay, told = FIRST_RETRY, None
    while True:
        try:
            daemon = Daemon.start(config_path, dry_run=dry_run, stream=stream)
        except StoreUnavailable as error:
            now = time.monotonic()
            if told is None or now - told >= REMIND_EVERY.total_seconds():
                told = now
                log.error("%s; waiting for it", error)
            notifier.status(f"waiting for the store: {error}")
            notifier.extend_timeout(delay + 60)
            time.sleep(delay)
            delay = min(delay * 2, LONGEST_RETRY)
            continue
        if told is not None:
            log.warning("store answers: starting")
        return daemon


def run_daemon(daemon: Daemon) -> int:
    with contextlib.closing(daemon.store):
        return asyncio.run(daemon.run())
