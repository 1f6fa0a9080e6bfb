"""Versioned schema with forward migrations, applied in order when a store is opened.

Each step runs in its own transaction together with the row recording it in `schema_version`,
so a crash mid-upgrade leaves the database at the previous version, never between two. A
database newer than this code is refused rather than half-understood.

Step 1 creates the tables of schema.py as they are now. Each later step brings a database of
the version before up to date (ALTER TABLE …) and does nothing where step 1 already did, so
that a new database and an upgraded one end the same.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy import func, insert, inspect, select, text
from sqlalchemy.engine import Connection

from watcher.store import schema
from watcher.store.errors import StoreError
from watcher.store.locks import MIGRATION_LOCK, serialize

MigrationStep = Callable[[Connection], None]


def _create_tables(connection: Connection) -> None:
    schema.metadata.create_all(connection)


def _add_feed_columns(connection: Connection, *names: str) -> None:
    """ALTER TABLE feed ADD COLUMN for each of `names` it lacks, typed as schema.py types it."""
    present = {column["name"] for column in inspect(connection).get_columns(schema.feed.name)}
    for name in names:
        if name not in present:
            sql_type = schema.feed.c[name].type.compile(dialect=connection.dialect)
            connection.execute(text(f"ALTER TABLE feed ADD COLUMN {name} {sql_type}"))


def _add_feed_ttl(connection: Connection) -> None:
    _add_feed_columns(connection, "ttl_minutes")


def _add_feed_health(connection: Connection) -> None:
    _add_feed_columns(connection, "last_fetch_seconds", "last_late_seconds", "silent_since")


#: STEPS[n] takes a database from version n to version n + 1.
STEPS: tuple[MigrationStep, ...] = (_create_tables, _add_feed_ttl, _add_feed_health)
LATEST_VERSION = len(STEPS)


def schema_version(connection: Connection) -> int:
    """The version a database is at: 0 when it is empty."""
    if not inspect(connection).has_table(schema.schema_version.name):
        return 0
    return connection.execute(select(func.max(schema.schema_version.c.version))).scalar() or 0


def check_version(version: int, where: str) -> None:
    if version > LATEST_VERSION:
        raise StoreError(
            f"store {where} has schema version {version}, but this watcher only knows versions "
            f"up to {LATEST_VERSION}: it was written by a newer watcher; upgrade watcher"
        )


def apply_next_step(connection: Connection, where: str, now: dt.datetime) -> bool:
    """Inside a write transaction: apply the next missing step; False when none is missing."""
    serialize(connection, MIGRATION_LOCK)
    version = schema_version(connection)
    check_version(version, where)
    if version == LATEST_VERSION:
        return False
    STEPS[version](connection)
    connection.execute(insert(schema.schema_version).values(version=version + 1, applied_at=now))
    return True
