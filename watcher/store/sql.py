"""Small SQL helpers shared by the query modules."""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    Table,
    any_,
    bindparam,
    func,
    literal_column,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection


def one_of(column: ColumnElement[Any], name: str, dialect: str) -> ColumnElement[bool]:
    """`column IN (…)` over the values of one bound parameter (give it `many(dialect, values)`):
    a JSON array taken apart by `json_each` on SQLite, an array on PostgreSQL. A list of
    hundreds of values then costs one parameter to bind, not hundreds, and the statement stays
    the same for any number of values (no chunks, no re-compiling per length)."""
    if dialect == "postgresql":
        return column == any_(bindparam(name, type_=postgresql.ARRAY(column.type)))
    return column.in_(select(literal_column("value")).select_from(func.json_each(bindparam(name))))


def many(dialect: str, values: Iterable[Any]) -> Any:
    """The parameter value of `one_of`."""
    return list(values) if dialect == "postgresql" else json.dumps(list(values))


def insert_ignoring_conflicts(
    connection: Connection,
    table: Table,
    *conflict_columns: str,
    returning: tuple[str, ...] = (),
) -> Any:
    """`INSERT … ON CONFLICT (columns) DO NOTHING [RETURNING …]` in the connection's dialect:
    the database, not a prior read, decides what is new, so concurrent writers can never both
    win."""
    return _insert_ignoring_conflicts(connection.dialect.name, table, conflict_columns, returning)


@functools.cache
def _insert_ignoring_conflicts(
    dialect: str, table: Table, conflict_columns: tuple[str, ...], returning: tuple[str, ...]
) -> Any:
    # One statement object per dialect and shape: SQLAlchemy memoizes a statement's cache key,
    # so executing the same object again skips building and keying it.
    dialect_insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = dialect_insert(table).on_conflict_do_nothing(index_elements=list(conflict_columns))
    return statement.returning(*(table.c[name] for name in returning)) if returning else statement


def insert_plain_rows(
    connection: Connection, table: Table, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]
) -> None:
    """Insert rows of values the driver takes as they are (integers, text, no type processing)
    with one `executemany` of tuples. SQLAlchemy's own per-row parameter handling costs more
    than the database's insert for the hundreds of two-integer rows a poll writes."""
    if not rows:
        return
    quote = connection.dialect.identifier_preparer.quote
    marker = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    statement = (
        f"INSERT INTO {quote(table.name)} ({', '.join(quote(name) for name in columns)}) "
        f"VALUES ({', '.join(marker for _ in columns)})"
    )
    connection.exec_driver_sql(statement, list(rows))


def next_ids(connection: Connection, table: Table, count: int) -> list[int]:
    """The ids the next `count` rows inserted into `table` get, in insertion order.

    Inserting with these ids needs no `RETURNING … sort_by_parameter_order`, which SQLite can
    only honour one row per statement. On SQLite they are the ids SQLite itself would pick
    (one above the largest), safe because a write transaction (`BEGIN IMMEDIATE`) excludes
    every other writer until it ends; on PostgreSQL they come from the column's sequence.
    """
    if count <= 0:
        return []
    if connection.dialect.name == "postgresql":
        return sorted(connection.execute(_drawn_ids(table), {"count": count}).scalars())
    largest = connection.execute(_largest_id(table)).scalar() or 0
    return list(range(largest + 1, largest + 1 + count))


@functools.cache
def _drawn_ids(table: Table) -> Select[tuple[int]]:
    sequence = func.pg_get_serial_sequence(table.name, table.c.id.name)
    return select(func.nextval(sequence)).select_from(
        func.generate_series(1, bindparam("count", type_=Integer))
    )


@functools.cache
def _largest_id(table: Table) -> Select[tuple[int]]:
    return select(func.max(table.c.id))
