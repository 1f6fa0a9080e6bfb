"""The Store: one object per process that owns the engine and opens every transaction.

The API is synchronous (pysqlite and psycopg are). The daemon calls it from worker threads
(`await asyncio.to_thread(store.ingest, …)`); every method takes its own connection from the
pool, so threads may call it concurrently. On SQLite, write transactions are also serialized
inside the process by a lock: one writer connection at a time sidesteps SQLITE_BUSY and the
WAL-reset bug of SQLite < 3.51.3 (reliability.md §7.1); across processes `BEGIN IMMEDIATE` and
the busy timeout take over. On PostgreSQL several processes or machines share one database;
feeds and alerts are handed out with leases (`FOR UPDATE SKIP LOCKED`), so each feed is polled
by one node at a time and each alert sent by one.

Every time is passed in (`now`) and must be timezone-aware.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
from collections.abc import Collection, Iterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from watcher.store import archive, clustering, feeds, ingest, migrations, outbox, retention
from watcher.store.engine import READ_ONLY_OPTION, make_engine
from watcher.store.errors import StoreError, StoreUnavailable, unavailable_reason
from watcher.store.location import database_url, describe
from watcher.store.values import (
    AlertKind,
    AlertRow,
    AlertStatus,
    FeedConfigLike,
    FeedRow,
    FeedStatus,
    FetchOutcome,
    IngestResult,
    NewEntries,
    OutboxCounts,
    PolledEntry,
    PollInput,
    PruneResult,
    SilenceCandidate,
    StoredArticle,
    StorySource,
    SyncResult,
)


class Store:
    """Feed state, seen entries, articles, stories, matches and the alert outbox."""

    def __init__(self, engine: Engine, where: str) -> None:
        """Use `Store.open`; this wraps an engine that `make_engine` configured."""
        self._engine = engine
        self._reader = engine.execution_options(**{READ_ONLY_OPTION: True})
        self.where = where
        self._write_lock: contextlib.AbstractContextManager[Any] = (
            threading.Lock() if engine.dialect.name == "sqlite" else contextlib.nullcontext()
        )

    @classmethod
    def open(
        cls,
        url: str | None = None,
        *,
        migrate: bool = True,
        environ: Mapping[str, str] | None = None,
    ) -> Store:
        """Open the store at `url` (None: the default SQLite file) and bring its schema up to
        date. With `migrate=False` (read-only commands beside a running daemon) a database at
        another version is refused instead of upgraded."""
        resolved = database_url(url, environ)
        where = describe(resolved)
        if not migrate and resolved.get_backend_name() == "sqlite":
            _require_sqlite_file(resolved.database or "", where)
        store = cls(make_engine(resolved), where)
        try:
            if migrate:
                store._migrate()
            else:
                store._require_current_version()
        except OperationalError as error:
            store.close()
            reason = unavailable_reason(error)
            # A database server may come back; a SQLite file that cannot be opened (a missing
            # directory, permissions) waits for someone to act, unless another process holds
            # its lock.
            transient = store.engine.dialect.name != "sqlite" or "locked" in str(reason)
            problem = StoreUnavailable if transient else StoreError
            raise problem(f"store {where}: cannot open: {reason}") from None
        except BaseException:
            store.close()
            raise
        return store

    @property
    def engine(self) -> Engine:
        return self._engine

    @property
    def dialect(self) -> str:
        """`sqlite` or `postgresql`."""
        return self._engine.dialect.name

    def close(self) -> None:
        self._engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    @contextlib.contextmanager
    def _write(self) -> Iterator[Connection]:
        with self._write_lock, self._engine.begin() as connection:
            yield connection

    @contextlib.contextmanager
    def _read(self) -> Iterator[Connection]:
        with self._reader.begin() as connection:
            yield connection

    # schema

    def _migrate(self) -> None:
        while True:
            with self._write() as connection:
                if not migrations.apply_next_step(connection, self.where, dt.datetime.now(dt.UTC)):
                    return

    def _require_current_version(self) -> None:
        version = self.schema_version()
        migrations.check_version(version, self.where)
        if version != migrations.LATEST_VERSION:
            raise StoreError(
                f"store {self.where} has schema version {version}, this watcher needs "
                f"{migrations.LATEST_VERSION}: start `watcher run` once to upgrade it"
            )

    def schema_version(self) -> int:
        with self._read() as connection:
            return migrations.schema_version(connection)

    def ping(self) -> None:
        """Raise when the database cannot answer (for the watchdog)."""
        with self._read() as connection:
            connection.execute(text("SELECT 1"))

    # feeds

    def sync_feeds(self, configured: Sequence[FeedConfigLike], now: dt.datetime) -> SyncResult:
        with self._write() as connection:
            return feeds.sync_feeds(connection, configured, now)

    def claim_due_feeds(
        self,
        owner: str,
        now: dt.datetime,
        *,
        limit: int = 50,
        lease_seconds: float = 300,
        due_by: dt.datetime | None = None,
    ) -> list[FeedRow]:
        """Lease feeds due by `due_by` (default `now`) to `owner` for `lease_seconds`.

        The lease ends with `record_fetch` or `ingest(fetch=…)`; a crashed owner's lease expires
        and the feed becomes claimable again. `due_by` far ahead claims every active feed
        (`watcher poll --once`).
        """
        if limit <= 0:
            return []
        _require_positive("lease_seconds", lease_seconds)
        with self._write() as connection:
            return feeds.claim_due_feeds(
                connection, owner, now, limit, lease_seconds, due_by or now
            )

    def record_fetch(self, feed_id: int, outcome: FetchOutcome, now: dt.datetime) -> None:
        """Store a fetch that brought no entries to ingest (304, unchanged body, error, 410)
        and release the lease. A fetch with entries goes through `ingest(fetch=…)`."""
        missing = self.record_fetches([(feed_id, outcome, now)])
        if missing:
            raise missing[feed_id]

    def record_fetches(
        self, fetches: Sequence[tuple[int, FetchOutcome, dt.datetime]]
    ) -> dict[int, StoreError]:
        """`record_fetch` for many feeds in one transaction (a poll cycle of 304s would
        otherwise pay a commit per feed). A feed missing from the store is left out and named
        in the result; the others are recorded all the same."""
        with self._write() as connection:
            return feeds.record_fetches(connection, fetches)

    def update_feed_url(self, feed_id: int, url: str) -> None:
        with self._write() as connection:
            feeds.update_feed_url(connection, feed_id, url)

    def enable_feed(self, name: str, now: dt.datetime) -> bool:
        with self._write() as connection:
            return feeds.enable_feed(connection, name, now)

    def feed(self, name: str) -> FeedRow | None:
        with self._read() as connection:
            return feeds.feed_by_name(connection, name)

    def feed_status(self) -> list[FeedStatus]:
        with self._read() as connection:
            return feeds.feed_status(connection)

    def silence_candidates(self) -> list[SilenceCandidate]:
        """Feeds that poll fine, with the times their remembered entries arrived."""
        with self._read() as connection:
            return feeds.silence_candidates(connection)

    def mark_silent(self, feed_id: int, since: dt.datetime) -> bool:
        with self._write() as connection:
            return feeds.mark_silent(connection, feed_id, since)

    # entries, articles, stories

    def filter_new(self, feed_id: int, keys: Sequence[str]) -> NewEntries:
        """Which listed keys are unseen (a hint for what to match; `ingest` decides)."""
        with self._read() as connection:
            return ingest.filter_new(connection, feed_id, keys)

    def latest_listing(self, feed_id: int, listed_at: dt.datetime) -> frozenset[str]:
        """The keys of the entries the feed listed at its latest stored poll, given as the
        feed row's `listed_at` (ingest marks them seen at that instant); retention keeps
        them all, so every one is seen."""
        with self._read() as connection:
            return ingest.latest_listing(connection, feed_id, listed_at)

    def ingest(
        self,
        feed_id: int,
        entries: Sequence[PolledEntry],
        now: dt.datetime,
        *,
        first_poll_alerts: int = 0,
        fetch: FetchOutcome | None = None,
    ) -> IngestResult:
        """Store one poll in one transaction: seen marks, new articles with their stories and
        matches, queued alerts, feed state, and the fetch outcome when given.

        Pass every entry the feed lists (seen ones too: their `last_seen_at` keeps them from
        being pruned). On the feed's first poll entries are only marked seen (no article,
        matches or alerts), except the `first_poll_alerts` newest.
        """
        (result,) = self.ingest_many([PollInput(feed_id, entries, now, first_poll_alerts, fetch)])
        if isinstance(result, Exception):
            raise result
        return result

    def ingest_many(self, polls: Sequence[PollInput]) -> list[IngestResult | Exception]:
        """`ingest` for many polls in one transaction (a busy poll cycle would otherwise pay a
        transaction and a dozen statements per feed). Each poll's result, in order; a poll the
        store refuses (its feed is gone, bad input) gets its StoreError and the others go in.
        When the transaction fails as a whole, each poll is tried alone, so that a poll the
        database rejects cannot take the others down with it: each then gets its own result
        or the database's error."""
        try:
            with self._write() as connection:
                return list(ingest.ingest_many(connection, polls))
        except SQLAlchemyError:
            if len(polls) == 1:
                raise
        return [self._ingest_alone(poll) for poll in polls]

    def _ingest_alone(self, poll: PollInput) -> IngestResult | Exception:
        try:
            (result,) = self.ingest_many([poll])
        except SQLAlchemyError as error:
            return error
        return result

    def story_sources(self, story_id: int) -> list[StorySource]:
        with self._read() as connection:
            return clustering.story_sources(connection, story_id)

    def stored_articles(
        self, since: dt.datetime | None = None, *, page: int = 500
    ) -> Iterator[StoredArticle]:
        """Every stored article first seen at or after `since` (all when None), oldest
        first, with the scores of the rules that matched it when it was stored."""
        after_id = 0
        while True:
            with self._read() as connection:
                batch = archive.stored_articles(connection, since, after_id, page)
            yield from batch
            if len(batch) < page:
                return
            after_id = batch[-1].id

    # outbox

    def claim_pending_alerts(
        self,
        owner: str,
        now: dt.datetime,
        *,
        limit: int = 20,
        lease_seconds: float = 120,
        kind: AlertKind = "immediate",
        notifier: str | None = None,
        created_by: dt.datetime | None = None,
    ) -> list[AlertRow]:
        """Lease due pending alerts of one kind (optionally one notifier, and for digests only
        those queued by `created_by`), each with its article. End every lease with `mark_sent`,
        `mark_failed` or `defer_alerts`; an abandoned lease expires."""
        if limit <= 0:
            return []
        _require_positive("lease_seconds", lease_seconds)
        with self._write() as connection:
            return outbox.claim_pending_alerts(
                connection, owner, now, limit, lease_seconds, kind, notifier, created_by
            )

    def oldest_pending_digest(self, notifier: str) -> dt.datetime | None:
        with self._read() as connection:
            return outbox.oldest_pending_digest(connection, notifier)

    def alerts(self, status: AlertStatus, *, limit: int = 50) -> list[AlertRow]:
        """The newest alerts in `status`, newest first (e.g. dead ones with their errors)."""
        with self._read() as connection:
            return outbox.alerts_with_status(connection, status, limit)

    def mark_sent(
        self, alert_ids: int | Sequence[int], results: list[Any] | None, now: dt.datetime
    ) -> int:
        """Mark one alert, or all alerts of a digest, sent; returns how many were pending."""
        ids = [alert_ids] if isinstance(alert_ids, int) else list(alert_ids)
        with self._write() as connection:
            return outbox.mark_sent(connection, ids, results, now)

    def mark_failed(
        self,
        alert_id: int,
        *,
        owner: str,
        error: str,
        results: list[Any] | None,
        retry_at: dt.datetime,
        max_attempts: int,
    ) -> str | None:
        """Count a failed attempt: `pending` again from `retry_at`, or `dead` (error kept) after
        `max_attempts`. None when `owner` no longer holds the alert's lease."""
        _require_positive("max_attempts", max_attempts)
        with self._write() as connection:
            return outbox.mark_failed(
                connection, alert_id, owner, error, results, retry_at, max_attempts
            )

    def defer_alerts(self, alert_ids: Sequence[int], owner: str, until: dt.datetime) -> int:
        with self._write() as connection:
            return outbox.defer_alerts(connection, list(alert_ids), owner, until)

    def throttled(
        self,
        rule_id: str,
        story_id: int | None,
        notifier: str,
        window: dt.timedelta,
        now: dt.datetime,
    ) -> bool:
        """Whether an immediate alert for this rule and notifier (and story, unless None) was
        queued within `window` before `now`."""
        with self._read() as connection:
            return outbox.throttled(connection, notifier, rule_id, window, now, story_id)

    def outbox_counts(self) -> OutboxCounts:
        with self._read() as connection:
            return outbox.outbox_counts(connection)

    def lease_owners(self) -> set[str]:
        """Who holds a lease on a feed or a pending alert."""
        with self._read() as connection:
            return feeds.feed_lease_owners(connection) | outbox.alert_lease_owners(connection)

    def release_leases(self, owner: str) -> None:
        """Give back every feed and alert `owner` holds (on shutdown, so that other nodes need
        not wait for the leases to expire)."""
        with self._write() as connection:
            feeds.release_feed_leases(connection, owner)
            outbox.release_alert_leases(connection, owner)

    def release_feeds(self, owner: str, feed_ids: Collection[int]) -> None:
        """Give back these feeds, whose polls `owner` gave up (the store went away under
        them), so they are polled again now rather than when their leases expire."""
        with self._write() as connection:
            feeds.release_feed_leases(connection, owner, feed_ids)

    # retention

    def prune(self, now: dt.datetime, keep_days: float) -> PruneResult:
        with self._write() as connection:
            return retention.prune(connection, now, keep_days)


def _require_positive(name: str, value: float) -> None:
    if value <= 0:
        raise StoreError(f"{name} must be positive, got {value}")


def _require_sqlite_file(path: str, where: str) -> None:
    """A read-only command must not create a store (and its directory) where none is: the
    usual cause is a default path that differs from the daemon's."""
    if not Path(path).exists():
        raise StoreError(
            f"store {where} does not exist: nothing has run with this store yet (`watcher run` "
            "creates it). A systemd service keeps its store in $STATE_DIRECTORY, which is set "
            "only inside the unit: run this command as the service (systemd/INSTALL.md, "
            "`watcher-as-service`), or give the store's path as [store] url"
        )
