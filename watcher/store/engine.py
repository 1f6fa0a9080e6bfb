"""Database engines with the settings crash safety needs (research/reliability.md §7.1).

SQLite: WAL (readers never block the writer), `synchronous=NORMAL` (never corrupts in WAL; a
power loss may roll back the last commits, which re-detects or re-sends rather than loses),
a WAL of up to 40 MB between checkpoints, a busy timeout, foreign keys on, and every write
transaction opened with `BEGIN IMMEDIATE`: a deferred transaction that reads and then writes
can fail with SQLITE_BUSY at once, ignoring the busy timeout, when another writer got in
between. pysqlite's own transaction handling is switched off so that it cannot open deferred
transactions behind our back (the SQLAlchemy "serializable isolation / savepoints" recipe).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, Connection

from watcher.store.errors import StoreError
from watcher.store.location import describe

BUSY_TIMEOUT_MS = 5_000
#: Execution option that opens a SQLite transaction as a plain (deferred) read.
READ_ONLY_OPTION = "watcher_read_only"


def make_engine(url: URL) -> Engine:
    if url.get_backend_name() == "sqlite":
        return _sqlite_engine(url)
    # pre_ping: a long-lived daemon outlives PostgreSQL restarts and idle-connection reapers.
    return create_engine(url, pool_pre_ping=True)


def _sqlite_engine(url: URL) -> Engine:
    path = Path(url.database or "")
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as error:
        raise StoreError(f"store {describe(url)}: cannot create {path.parent}: {error}") from None
    # Last in, first out: each connection has its own page cache, and the one used last has
    # the index pages of the next poll warm. Handed out in turn, every connection of the
    # pool would warm its own copy (measured: +65 MB and slower).
    engine = create_engine(
        url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000}, pool_use_lifo=True
    )
    event.listen(engine, "connect", _configure_sqlite_connection)
    event.listen(engine, "begin", _begin_sqlite_transaction)
    return engine


def _configure_sqlite_connection(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        # Story band keys are random, so one poll with many new entries dirties hundreds of
        # index pages; checkpointing every 40 MB of WAL rather than every 4 MB writes each
        # page back once for many polls instead of once per poll or two (10-15 % of an
        # all-new poll cycle in benchmarks/bench_poll.py).
        cursor.execute("PRAGMA wal_autocheckpoint = 10000")
        cursor.execute("PRAGMA foreign_keys = ON")
        # 16 MiB instead of 2: story band keys, seen-entry keys and canonical URLs are random,
        # so a busy poll touches index pages all over; with them cached, storing an all-new
        # poll cycle costs ~10 % less CPU (benchmarks/bench_poll.py; 64 MiB gains nothing).
        cursor.execute("PRAGMA cache_size = -16384")
    finally:
        cursor.close()


def _begin_sqlite_transaction(connection: Connection) -> None:
    if connection.get_execution_options().get(READ_ONLY_OPTION):
        connection.exec_driver_sql("BEGIN")
    else:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
