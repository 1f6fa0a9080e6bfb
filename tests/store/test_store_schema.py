"""Opening a store: migrations, versions, SQLite settings, time zones."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.store.builders import T0, add_feed
from watcher.store import LATEST_VERSION, Store, StoreError
from watcher.store.schema import metadata, schema_version


def test_migrates_an_empty_database_to_the_latest_version(store: Store) -> None:
    assert store.schema_version() == LATEST_VERSION
    tables = set(sa.inspect(store.engine).get_table_names())
    assert set(metadata.tables) <= tables


def test_reopening_is_idempotent_and_keeps_data(open_store: Callable[[], Store]) -> None:
    first = open_store()
    add_feed(first, "wire")
    first.close()
    again = open_store()
    assert again.schema_version() == LATEST_VERSION
    assert [status.name for status in again.feed_status()] == ["wire"]
    with again.engine.connect() as connection:
        rows = connection.execute(sa.select(schema_version.c.version)).scalars().all()
    assert rows == list(range(1, LATEST_VERSION + 1))


#: The feed columns each version added after the first.
ADDED_COLUMNS = {2: ["ttl_minutes"], 3: ["last_fetch_seconds", "last_late_seconds", "silent_since"]}


@pytest.mark.parametrize("version", [1, 2])
def test_an_older_database_is_upgraded_keeping_its_feeds(
    open_store: Callable[[], Store], version: int
) -> None:
    # The database as that version left it: without the later columns and their steps' rows.
    store = open_store()
    add_feed(store, "wire")
    with store.engine.begin() as connection:
        for later, columns in ADDED_COLUMNS.items():
            if later > version:
                for column in columns:
                    connection.execute(sa.text(f"ALTER TABLE feed DROP COLUMN {column}"))
        connection.execute(sa.delete(schema_version).where(schema_version.c.version > version))
    store.close()

    upgraded = open_store()
    row = upgraded.feed("wire")
    [status] = upgraded.feed_status()
    assert upgraded.schema_version() == LATEST_VERSION == 3
    assert row is not None and row.ttl_minutes is None
    assert (status.last_fetch_seconds, status.last_late_seconds) == (None, None)


def test_a_database_from_a_newer_watcher_is_refused(open_store: Callable[[], Store]) -> None:
    store = open_store()
    with store.engine.begin() as connection:
        connection.execute(
            sa.insert(schema_version).values(version=LATEST_VERSION + 1, applied_at=T0)
        )
    store.close()
    with pytest.raises(StoreError, match=rf"schema version {LATEST_VERSION + 1}.*upgrade watcher"):
        open_store()


def test_read_only_open_refuses_an_old_schema_instead_of_upgrading(store_url: str) -> None:
    if store_url.startswith("sqlite:///"):  # a database without watcher's tables yet
        path = Path(store_url.removeprefix("sqlite:///"))
        path.parent.mkdir(parents=True)
        sqlite3.connect(path).close()
    with pytest.raises(StoreError, match="start `watcher run` once"):
        Store.open(store_url, migrate=False)
    Store.open(store_url).close()
    with Store.open(store_url, migrate=False) as reader:
        assert reader.schema_version() == LATEST_VERSION


def test_sqlite_settings(tmp_path: Path) -> None:
    with Store.open(str(tmp_path / "deep" / "dir" / "w.db")) as store:
        with store.engine.connect() as connection:
            pragma = connection.exec_driver_sql
            assert pragma("PRAGMA journal_mode").scalar() == "wal"
            assert pragma("PRAGMA foreign_keys").scalar() == 1
            assert pragma("PRAGMA synchronous").scalar() == 1  # NORMAL
            assert pragma("PRAGMA busy_timeout").scalar() == 5000
            assert pragma("PRAGMA cache_size").scalar() == -16384  # KiB: 16 MiB
        assert (tmp_path / "deep" / "dir" / "w.db").exists()


def test_sqlite_hands_out_the_connection_used_last(tmp_path: Path) -> None:
    """Each SQLite connection has its own page cache: the store's work goes to the one whose
    cache is warm instead of rotating through the pool (and warming every cache)."""
    with Store.open(str(tmp_path / "w.db")) as store:
        first, second = store.engine.connect(), store.engine.connect()
        first_id, second_id = (id(c.connection.dbapi_connection) for c in (first, second))
        first.close()
        second.close()
        for _ in range(3):
            with store.engine.connect() as connection:
                assert id(connection.connection.dbapi_connection) == second_id != first_id


def test_sqlite_writes_take_the_write_lock_up_front(tmp_path: Path) -> None:
    """A second writer waits for the first instead of failing mid-transaction: the first
    transaction holds the RESERVED lock from BEGIN on."""
    path = tmp_path / "w.db"
    with Store.open(str(path)) as store:
        statements: list[str] = []
        sa.event.listen(
            store.engine, "before_cursor_execute", lambda *args: statements.append(args[2])
        )
        add_feed(store, "wire")
        assert "BEGIN IMMEDIATE" in statements
        statements.clear()
        store.feed_status()
        assert "BEGIN IMMEDIATE" not in statements


def test_unopenable_database_says_where(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(StoreError, match=f"cannot create {blocker}"):
        Store.open(str(blocker / "watcher.db"))


def test_naive_datetimes_are_refused(store: Store) -> None:
    with pytest.raises(sa.exc.StatementError, match="timezone-aware"):
        add_feed(store, "wire", now=dt.datetime(2025, 5, 20, 8, 0))


def test_times_come_back_as_the_same_instant_in_utc(store: Store) -> None:
    istanbul = dt.timezone(dt.timedelta(hours=3))
    add_feed(store, "wire", now=T0.astimezone(istanbul))
    row = store.feed("wire")
    assert row is not None
    assert row.next_check_at == T0
    assert row.next_check_at.tzinfo == dt.UTC


def test_an_unreachable_postgres_is_a_clear_error() -> None:
    with pytest.raises(
        StoreError, match=r"store postgresql\+psycopg://watcher:\*\*\*@127\.0\.0\.1:1/w"
    ):
        Store.open("postgresql://watcher:secret@127.0.0.1:1/w")
