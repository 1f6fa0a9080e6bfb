"""One poll of one feed: read it, match its new entries, and store everything in one transaction.

fetch → parse and match (in a parser worker) → (full text) → route to notifiers → store (seen
marks, articles, stories, matches, outbox rows and the feed's new state commit together, in a
transaction shared with the other polls ready to store at the same moment: group commit).
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import NamedTuple, TypeVar

from watcher.alerts.payload import build_payload
from watcher.alerts.routes import alert_notifiers
from watcher.config import ConfigError, FeedSettings, Settings, feed_route, request_headers
from watcher.feeds.fetch import Fetcher, FetchResult, Outcome
from watcher.feeds.identity import EVERY_KEY, SeenKeys, canonical_url
from watcher.feeds.parse import ParsedEntry
from watcher.feeds.read import FeedRead, read_feed
from watcher.feeds.schedule import backoff_delay, expired_at_once, feed_phase, next_check_at
from watcher.feeds.worker import ParserPool
from watcher.matching import Match, RuleSet, match_article
from watcher.runtime import feed_context
from watcher.store import (
    AlertSpec,
    FeedRow,
    FetchOutcome,
    PolledEntry,
    PollInput,
    Store,
    StoreError,
    Validators,
    newest_first,
)
from watcher.store.group_commit import FetchRecorder, Ingester

T = TypeVar("T")
log = logging.getLogger(__name__)


@dataclass(slots=True)
class PollReport:
    """What one poll did, for logs, `watcher poll` and the status page."""

    feed: str
    status: int | None
    error: str | None = None
    not_modified: bool = False
    entries: int = 0
    new: int = 0
    alerts: int = 0
    matches: list[tuple[ParsedEntry, list[Match]]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    missed_entries_warning: bool = False
    next_check_at: dt.datetime | None = None
    #: The error did not count against the feed: the server asked for a pause, or the poll
    #: was held back by its host's cool-down.
    paused: bool = False
    #: Where a permanent redirect moved the feed (polled there from now on).
    moved_to: str | None = None
    #: When the feed had been found silent, if this poll's new entries ended that silence.
    silence_ended: dt.datetime | None = None
    #: False when a poll on demand left the feed alone (its server's pause had not run out).
    polled: bool = True


class Listing(NamedTuple):
    """The entries a feed listed at a poll this poller stored: the feed's name, the instant
    (the feed row's `listed_at` after that ingest) and the entries' keys."""

    feed: str
    listed_at: dt.datetime
    keys: frozenset[str]


@dataclass(slots=True)
class Poller:
    """Everything a poll needs; the rule set can be swapped on reload."""

    settings: Settings
    store: Store
    fetcher: Fetcher
    parser: ParserPool
    rules: RuleSet
    rng: random.Random = field(default_factory=random.Random)
    recorder: FetchRecorder = field(init=False)
    ingester: Ingester = field(init=False)
    feeds_by_name: dict[str, FeedSettings] = field(init=False)
    # By feed id: the listing this poller last stored (see `_listed_before`).
    listings: dict[int, Listing] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.recorder = FetchRecorder(self.store)
        self.ingester = Ingester(self.store)
        self.feeds_by_name = {f.name: f for f in self.settings.feeds}
        self.parser.use_rules(self.rules)

    def reconfigure(self, settings: Settings, rules: RuleSet) -> None:
        """Poll with new settings and rules from the next poll on (a reload)."""
        self.settings, self.rules = settings, rules
        self.feeds_by_name = {f.name: f for f in settings.feeds}
        self.parser.use_rules(rules)
        self.listings = {
            feed_id: listing
            for feed_id, listing in self.listings.items()
            if listing.feed in self.feeds_by_name
        }

    def feed_settings(self, name: str) -> FeedSettings | None:
        return self.feeds_by_name.get(name)

    async def poll(
        self, row: FeedRow, now: dt.datetime | None = None, *, late: dt.timedelta = dt.timedelta(0)
    ) -> PollReport:
        """Poll one claimed feed; never raises for a problem with the feed itself. `late`: how
        long after its due time the scheduler started it (kept for `watcher status`)."""
        now = now or dt.datetime.now(dt.UTC)
        feed = self.feed_settings(row.name)
        if feed is None:  # removed from the config while claimed
            outcome = FetchOutcome(None, now + self.settings.poll.max_interval)
            await self.recorder.record(row.id, outcome, now)
            return PollReport(row.name, None, error="no longer configured")
        read = await self._read(row, feed, now)
        outcome = dataclasses.replace(
            self._outcome(row, feed, read, now),
            fetch_seconds=read.fetch.response_seconds,
            late_seconds=max(late.total_seconds(), 0.0),
        )
        report = PollReport(
            row.name,
            read.fetch.status,
            read.error,
            next_check_at=outcome.next_check_at,
            paused=outcome.effect != "counted",
            moved_to=outcome.moved_to,
        )
        if read.parsed is None:
            report.not_modified = read.error is None
            await self.recorder.record(row.id, outcome, now)
            return report
        report.problems = list(read.parsed.problems) + (read.full_text_problems or [])
        parsed = read.parsed
        if parsed.rules_version == self.parser.rules_version and all(
            entry.matches is not None
            for entry in parsed.entries
            if entry.key not in read.listed_before
        ):
            # In a thread, as all per-entry work: a feed of thousands of entries must not hold
            # up the event loop.
            polled = await asyncio.to_thread(self._polled, parsed.entries, None)
        else:
            # Not matched in the worker (a first poll, full text, a reload in between, or the
            # matcher failed there): match here, the new entries only.
            polled = await asyncio.to_thread(self._polled_after_filter, row, parsed.entries)
        first_poll_alerts = self.settings.poll.first_poll_alerts
        try:
            result = await self.ingester.ingest(
                PollInput(
                    row.id,
                    polled,
                    now,
                    first_poll_alerts,
                    fetch=outcome,
                    seen_keys=parsed.seen_keys,
                    first_poll_only=read.listed_before is EVERY_KEY,
                )
            )
        except StoreError as refused:
            # Nothing of the poll was stored (not even its fetch): the feed stays leased, and
            # is polled again when the lease runs out.
            report.error = str(refused)
            return report
        listed = [*(entry.key for entry in parsed.entries), *parsed.seen_keys]
        self.listings[row.id] = Listing(row.name, now, frozenset(listed))
        report.entries, report.new, report.alerts = (
            result.listed,
            len(result.new),
            len(result.alerts),
        )
        report.silence_ended = result.silence_ended
        by_key = {entry.key: entry for entry in parsed.entries}
        matched = {e.entry_key: e.matches for e in polled if e.matches}
        report.matches = [
            (by_key[new.entry_key], list(matched[new.entry_key]))
            for new in result.new
            if new.entry_key in matched
        ]
        if result.all_new:
            report.missed_entries_warning = True
            log.warning(
                "%s: all %d entries were new: entries were probably missed between polls "
                "(poll it more often)",
                row.name,
                result.listed,
            )
        return report

    async def _read(self, row: FeedRow, feed: FeedSettings, now: dt.datetime) -> FeedRead:
        # Secrets are read at every poll: a rotated credential needs no reload.
        try:
            headers = request_headers(feed.url, feed.headers)
        except ConfigError as error:
            return _unread(row, f"headers: {error}")
        try:
            route = feed_route(self.settings.http, feed.proxy, feed.ca_file)
        except ConfigError as error:
            return _unread(row, f"proxy: {error}")
        return await read_feed(
            self.fetcher,
            self.parser,
            feed_context(feed, url=row.url),
            now=now,
            etag=row.etag,
            last_modified=row.last_modified,
            previous_body_hash=row.body_hash,
            full_text=feed.full_text,
            allow_private=feed.allow_private,
            # The worker matches what it parsed; not worth it on a feed's first poll (never
            # listed: a few entries at most alert, and the poller matches those), nor with full
            # text (the body is replaced after parsing).
            match=row.listed_at is not None and not feed.full_text,
            listed_before=lambda: self._listed_before(row),
            headers=headers,
            route=route,
        )

    async def _listed_before(self, row: FeedRow) -> SeenKeys:
        """The keys of the entries of the store's latest listing of the feed: all of them
        are seen (retention keeps every entry of the latest listing), so the parser worker
        need not normalize them (when their guids alone say who they are), match them, work
        out their story keys, nor fetch their full texts. From memory when this poller
        stored that listing itself, else (it just started, or another node polled the feed
        since) read from the store. On a first poll that only marks entries seen, every
        key (`EVERY_KEY`)."""
        if row.listed_at is None:  # never listed: the feed's first poll
            return EVERY_KEY if self.settings.poll.first_poll_alerts <= 0 else frozenset()
        listing = self.listings.get(row.id)
        if listing is not None and listing.listed_at == row.listed_at:
            return listing.keys
        return await asyncio.to_thread(self.store.latest_listing, row.id, row.listed_at)

    def _polled_after_filter(
        self, row: FeedRow, entries: Sequence[ParsedEntry]
    ) -> list[PolledEntry]:
        """The entries, the new ones matched here (on a first poll only the newest few, the
        only ones that may alert)."""
        new = self.store.filter_new(row.id, [e.key for e in entries])
        to_match = {e.key for e in entries if e.key in new.keys}
        if new.first_poll:
            newest = newest_first(
                [PolledEntry(e.key, e.article) for e in entries if e.key in new.keys]
            )[: self.settings.poll.first_poll_alerts]
            to_match = {e.entry_key for e in newest}
        return self._polled(entries, to_match)

    def _polled(
        self, entries: Sequence[ParsedEntry], to_match: set[str] | None
    ) -> list[PolledEntry]:
        """What the store needs of each entry. `to_match`: the keys to match here; None: every
        entry carries its matches from the parser worker, and the store keeps those (and
        queues their alerts) for the entries it finds new."""
        polled = []
        for entry in entries:
            matches: list[Match] = []
            if to_match is None:
                matches = entry.matches or []
            elif entry.key in to_match:
                matches = match_article(self.rules, entry.article)
            alerts = [a for m in matches for a in self._alerts_for(entry, m)]
            polled.append(
                PolledEntry(
                    entry.key,
                    entry.article,
                    canonical_url(entry.article.url) if entry.article.url else None,
                    matches,
                    alerts,
                    story_keys=entry.story_keys,
                )
            )
        return polled

    def _alerts_for(self, entry: ParsedEntry, match: Match) -> list[AlertSpec]:
        compiled = self.rules.by_id(match.rule_id)
        rule = compiled.rule if compiled else None
        payload = build_payload(entry.article, match).model_dump(mode="json")
        specs = []
        for name in alert_notifiers(rule, match.severity, self.settings):
            notifier = self.settings.notifiers[name]
            specs.append(
                AlertSpec(
                    notifier=name,
                    rule_id=match.rule_id,
                    kind="digest" if notifier.digest else "immediate",
                    payload=payload,
                    throttle=rule.throttle if rule else None,
                )
            )
        return specs

    def _outcome(
        self, row: FeedRow, feed: FeedSettings, read: FeedRead, now: dt.datetime
    ) -> FetchOutcome:
        poll = self.settings.poll
        interval = feed.interval or poll.interval
        fetch = read.fetch
        if fetch.outcome is Outcome.DEFERRED:
            # The host asked everyone to wait: not this feed's fault, nor a poll at all.
            wait = dt.timedelta(seconds=fetch.retry_after or poll.min_interval.total_seconds())
            return FetchOutcome(row.last_status, now + wait, effect="not_fetched")
        asked_to_wait = dt.timedelta(seconds=fetch.retry_after or 0)
        if read.error is not None and asked_to_wait:
            # A 429 or 503 with Retry-After (the only answers that carry one): the server asked
            # for a pause, which is honoured and not held against the feed, unless pauses are
            # all it has answered for too long (a server that asks forever is broken too).
            healthy_at = row.last_success_at or row.added_at
            if now - healthy_at <= poll.pause_limit:
                wait = max(asked_to_wait, poll.min_interval)
                return FetchOutcome(fetch.status, now + wait, error=read.error, effect="paused")
        if read.error is not None:
            errors = row.error_count + 1
            backoff = backoff_delay(errors, interval, rng=self.rng)
            wait = max(backoff, asked_to_wait, poll.min_interval)
            return FetchOutcome(fetch.status, now + wait, error=read.error)
        headers = fetch.headers
        # When entries probably came and went unseen since the last poll, look again in half
        # the interval, for as long as the feed outruns it (a story breaking, a busy desk).
        outran = _outran_its_interval(read)
        next_at = next_check_at(
            now,
            max(interval / 2, poll.min_interval) if outran else interval,
            # A 304 or an unchanged body is not read: the ttl the feed last gave still holds.
            ttl_minutes=read.parsed.ttl if read.parsed else row.ttl_minutes,
            cache_control=headers.get("cache-control"),
            expires=headers.get("expires"),
            date=headers.get("date"),
            retry_after=fetch.retry_after,
            min_interval=poll.min_interval,
            max_interval=poll.max_interval,
        )
        if not outran and next_at - now == interval:
            # No server hint moved it: keep the feed on its own grid, so that feeds sharing an
            # interval stay spread over it instead of bunching up after restarts and outages.
            phase = feed_phase(feed.url, interval)
            next_at = on_grid(next_at, interval, phase, earliest=now + poll.min_interval)
        validators = None
        if fetch.body is not None or fetch.unchanged:
            if expired_at_once(headers.get("expires")):
                # Asked without validators next time; the body hash still spares a parse.
                validators = Validators(None, None, fetch.body_hash)
            else:
                validators = Validators(fetch.etag, fetch.last_modified, fetch.body_hash)
        elif fetch.outcome is Outcome.NOT_MODIFIED and (fetch.etag or fetch.last_modified):
            # A 304 carries the validators a 200 would carry now (RFC 9110 §15.4.5): kept, so
            # that the next request does not name ones the server may stop honouring.
            validators = Validators(
                fetch.etag or row.etag, fetch.last_modified or row.last_modified, row.body_hash
            )
        return FetchOutcome(
            fetch.status,
            next_at,
            validators=validators,
            moved_to=fetch.permanent_redirect_to,
            read_ttl=read.parsed is not None,
            ttl_minutes=read.parsed.ttl if read.parsed else None,
        )


def _unread(row: FeedRow, error: str) -> FeedRead:
    """A poll that could not even start fetching (its settings failed at this poll)."""
    return FeedRead(FetchResult(row.url, row.url, Outcome.FAILED), error=error)


def _outran_its_interval(read: FeedRead) -> bool:
    """The feed lists several entries and none it listed at its last stored poll: the
    entries between the two polls may have come and gone unseen."""
    parsed, before = read.parsed, read.listed_before
    if parsed is None or before is EVERY_KEY or not before:
        return False
    listed = [*(entry.key for entry in parsed.entries), *parsed.seen_keys]
    return len(listed) > 1 and before.isdisjoint(listed)


#: Answers whose pause (Retry-After, or the backoff after them) a poll on demand still honours.
_SERVER_PAUSES = (HTTPStatus.TOO_MANY_REQUESTS, HTTPStatus.SERVICE_UNAVAILABLE)


def server_pause(row: FeedRow, now: dt.datetime) -> dt.datetime | None:
    """Until when the feed's server asked not to be polled (its last answer a 429 or 503 whose
    pause has not run out), else None."""
    if row.last_status in _SERVER_PAUSES and row.next_check_at > now:
        return row.next_check_at
    return None


def paused_report(row: FeedRow, until: dt.datetime) -> PollReport:
    """A feed a poll on demand left alone because its server asked for a pause."""
    status = HTTPStatus(row.last_status or HTTPStatus.TOO_MANY_REQUESTS)
    return PollReport(
        row.name,
        row.last_status,
        error=(
            f"not polled: the server asked for a pause ({status.value} {status.phrase}) "
            f"until {until.astimezone():%Y-%m-%d %H:%M:%S}"
        ),
        paused=True,
        next_check_at=until,
        polled=False,
    )


async def poll_every_feed(
    store: Store,
    owner: str,
    settings: Settings,
    poll: Callable[[FeedRow], Awaitable[T]],
    paused: Callable[[FeedRow, dt.datetime], T],
) -> list[T]:
    """Claim every active feed, due or not, and poll them all, `http.concurrency` at a time
    (`watcher run --once`, `watcher poll`) — but for those whose server asked for a pause
    that has not run out: polled from cron, they would be asked again and again. Those are
    given back and reported through `paused`."""
    now = dt.datetime.now(dt.UTC)
    rows = await asyncio.to_thread(
        store.claim_due_feeds,
        owner,
        now,
        limit=100_000,
        lease_seconds=settings.poll.lease.total_seconds(),
        due_by=now + dt.timedelta(days=3650),
    )
    pauses = {row.id: until for row in rows if (until := server_pause(row, now)) is not None}
    if pauses:
        await asyncio.to_thread(store.release_feeds, owner, list(pauses))
    slots = asyncio.Semaphore(settings.http.concurrency)

    async def one(row: FeedRow) -> T:
        async with slots:
            return await poll(row)

    polled = await asyncio.gather(*(one(row) for row in rows if row.id not in pauses))
    return [*(paused(row, pauses[row.id]) for row in rows if row.id in pauses), *polled]


def on_grid(
    when: dt.datetime, interval: dt.timedelta, phase: float, *, earliest: dt.datetime
) -> dt.datetime:
    """The point nearest to `when` on the grid `phase + k × interval` (seconds since the epoch),
    never before `earliest`."""
    step = interval.total_seconds()
    if step <= 0:
        return when
    k = round((when.timestamp() - phase) / step)
    aligned = dt.datetime.fromtimestamp(k * step + phase, dt.UTC)
    while aligned < earliest:
        aligned += interval
    return aligned
