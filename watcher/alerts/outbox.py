"""Delivering the outbox: claim due alerts, hold them in quiet hours, pace bursts, send, record.

Every alert is claimed with a lease before it is sent and marked sent (with each service's
result) or failed (retried with backoff, dead after `max_attempts`) after: an alert is never
dropped, and a crash between claim and send only delays it until the lease runs out.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections import defaultdict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import TextIO

from watcher.alerts.compose import compose_alert, compose_digest
from watcher.alerts.dispatch import Delivery, deliver
from watcher.alerts.payload import AlertPayload
from watcher.alerts.timing import RateLimit, digest_trigger, in_quiet_hours, quiet_hours_end
from watcher.config import NotifierSettings, Settings
from watcher.store import AlertRow, Store

log = logging.getLogger(__name__)
CLAIM_BATCH = 20


@dataclass(slots=True)
class Deliverer:
    settings: Settings
    store: Store
    owner: str
    stream: TextIO | None = None
    # True once the daemon is stopping: sends already started finish, no new ones begin (the
    # alerts still claimed go back to pending when the daemon gives back its leases).
    stopping: Callable[[], bool] = lambda: False
    # Send times per notifier, for rate limits (per process: each node paces its own sends).
    _sent: dict[str, deque[dt.datetime]] = field(default_factory=lambda: defaultdict(deque))

    async def deliver_due(self, now: dt.datetime | None = None) -> int:
        """Send every immediate alert that is due; returns how many were sent."""
        now = now or dt.datetime.now(dt.UTC)
        sent = 0
        while not self.stopping():
            rows = await asyncio.to_thread(
                self.store.claim_pending_alerts,
                self.owner,
                now,
                limit=CLAIM_BATCH,
                lease_seconds=self._lease_seconds(),
            )
            if not rows:
                return sent
            by_notifier: dict[str, list[AlertRow]] = defaultdict(list)
            for row in rows:
                by_notifier[row.notifier].append(row)
            # Notifiers are independent: a slow mail server must not hold up the chat channel.
            counts = await asyncio.gather(
                *(self._deliver_group(name, group, now) for name, group in by_notifier.items())
            )
            sent += sum(counts)
            if len(rows) < CLAIM_BATCH:
                return sent
        return sent

    async def send_digest(self, notifier: str, now: dt.datetime | None = None) -> int:
        """Send one digest with every digest alert queued for `notifier`."""
        now = now or dt.datetime.now(dt.UTC)
        settings = self.settings.notifiers.get(notifier)
        rows = await asyncio.to_thread(
            self.store.claim_pending_alerts,
            self.owner,
            now,
            limit=10_000,
            lease_seconds=self._lease_seconds(),
            kind="digest",
            notifier=notifier,
        )
        if not rows or settings is None:
            return 0
        if await self._held(settings, rows, now):
            return 0
        payloads = [await self._payload(row) for row in rows]
        label = f"digest of {len(rows)} alert{'s' if len(rows) != 1 else ''}"
        delivery = await deliver(
            notifier,
            settings,
            partial(compose_digest, notifier, payloads, period_label=label),
            stream=self.stream,
        )
        return await self._record(rows, delivery, now)

    async def send_due_digests(self, now: dt.datetime | None = None) -> int:
        """Send each digest whose time has come since its oldest alert was queued (`run
        --once`: from cron, no scheduler runs between two runs to send it at its time)."""
        now = now or dt.datetime.now(dt.UTC)
        sent = 0
        for name, settings in self.settings.notifiers.items():
            if not settings.digest:
                continue
            oldest = await asyncio.to_thread(self.store.oldest_pending_digest, name)
            if oldest is None:
                continue
            trigger = digest_trigger(settings.digest, settings.timezone)
            due = trigger.get_next_fire_time(None, oldest)
            if due is not None and due <= now:
                sent += await self.send_digest(name, now)
        return sent

    async def _deliver_group(self, name: str, rows: list[AlertRow], now: dt.datetime) -> int:
        settings = self.settings.notifiers.get(name)
        if settings is None:
            for row in rows:
                await self._fail(row, f"notifier '{name}' is not configured", None, now)
            return 0
        if await self._held(settings, rows, now):
            return 0
        allowed = self._allowed_now(name, settings, now)
        if allowed >= len(rows):
            sent = 0
            for row in rows:
                if self.stopping():
                    break
                delivery = await deliver(
                    name,
                    settings,
                    partial(compose_alert, await self._payload(row)),
                    stream=self.stream,
                )
                sent += await self._record([row], delivery, now)
            return sent
        if allowed == 0:
            until = self._next_allowed(name, settings, now)
            await asyncio.to_thread(
                self.store.defer_alerts, [r.id for r in rows], self.owner, until
            )
            return 0
        # A burst beyond the rate limit goes out as one message rather than being dropped.
        payloads = [await self._payload(row) for row in rows]
        delivery = await deliver(
            name,
            settings,
            partial(compose_digest, name, payloads, period_label=f"burst of {len(rows)} alerts"),
            stream=self.stream,
        )
        return await self._record(rows, delivery, now)

    async def _held(
        self, settings: NotifierSettings, rows: Sequence[AlertRow], now: dt.datetime
    ) -> bool:
        """Quiet hours: alerts wait (not counted as attempts) until the hours end."""
        spec = settings.quiet_hours
        if not spec or not in_quiet_hours(now, spec, settings.timezone):
            return False
        until = quiet_hours_end(now, spec, settings.timezone)
        await asyncio.to_thread(self.store.defer_alerts, [r.id for r in rows], self.owner, until)
        return True

    def _allowed_now(self, name: str, settings: NotifierSettings, now: dt.datetime) -> int:
        if not settings.rate_limit:
            return 1 << 30
        limit = RateLimit.parse(settings.rate_limit)
        times = self._sent[name]
        # The same sliding window as RateLimit.next_allowed: a send exactly one window ago has
        # left it, so an alert deferred until then is allowed when it comes due.
        while times and now - times[0] >= limit.window:
            times.popleft()
        return max(limit.count - len(times), 0)

    def _next_allowed(self, name: str, settings: NotifierSettings, now: dt.datetime) -> dt.datetime:
        limit = RateLimit.parse(settings.rate_limit or "")
        return limit.next_allowed(list(self._sent[name]), now)

    async def _payload(self, row: AlertRow) -> AlertPayload:
        payload = AlertPayload.model_validate(row.payload)
        if row.story_id is not None:
            sources = []
            for source in await asyncio.to_thread(self.store.story_sources, row.story_id):
                name = source.source or source.feed
                if name and name not in sources:
                    sources.append(name)
            if sources:
                payload.sources = sources
        return payload

    async def _record(self, rows: Sequence[AlertRow], delivery: Delivery, now: dt.datetime) -> int:
        results = [r.model_dump(mode="json") for r in delivery.results]
        if delivery.ok:
            await asyncio.to_thread(self.store.mark_sent, [r.id for r in rows], results, now)
            self._sent[rows[0].notifier].append(now)
            return len(rows)
        for row in rows:
            await self._fail(row, delivery.error or "delivery failed", results, now)
        return 0

    async def _fail(
        self, row: AlertRow, error: str, results: list | None, now: dt.datetime
    ) -> None:
        alerts = self.settings.alerts
        delay = alerts.retry_base * (2 ** min(row.attempts, 16))
        status = await asyncio.to_thread(
            self.store.mark_failed,
            row.id,
            owner=self.owner,
            error=error,
            results=results,
            retry_at=now + min(delay, dt.timedelta(hours=6)),
            max_attempts=alerts.max_attempts,
        )
        log.warning(
            "alert %d to %s failed (attempt %d): %s%s",
            row.id,
            row.notifier,
            row.attempts + 1,
            error,
            "; marked dead" if status == "dead" else "",
        )

    def _lease_seconds(self) -> float:
        return self.settings.alerts.lease.total_seconds()
