"""Small SQL helpers shared by the query modules."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, TypeVar

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

T = TypeVar("T")

# Rows per multi-row statement and values per IN list: far below SQLite's variable limit.
CHUNK = 200


def chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def insert_ignoring_conflicts(connection: Connection, table: Table, *conflict_columns: str) -> Any:
    """`INSERT … ON CONFLICT (columns) DO NOTHING` in the connection's dialect: the database,
    not a prior read, decides what is new, so concurrent writers can never both win."""
    dialect_insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    return dialect_insert(table).on_conflict_do_nothing(index_elements=list(conflict_columns))
