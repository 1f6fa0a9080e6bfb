"""Transaction-scoped PostgreSQL advisory locks for the few steps that must not interleave
across nodes. SQLite needs none: `BEGIN IMMEDIATE` already admits one writer at a time."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

# Fixed keys (any 64-bit integers unique to watcher): held until the transaction ends.
MIGRATION_LOCK = 0x77617463_00000001
STORY_LOCK = 0x77617463_00000002


def serialize(connection: Connection, key: int) -> None:
    """Wait until no other transaction holds `key`, then hold it until this one ends."""
    if connection.dialect.name == "postgresql":
        connection.execute(select(func.pg_advisory_xact_lock(key)))
