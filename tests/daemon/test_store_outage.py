"""What the daemon says when its store goes away and comes back (pure: `watcher.outage`)."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, OperationalError

from watcher.outage import REMIND_EVERY, StoreOutage
from watcher.store import unavailable_reason

T = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


def locked_error(tmp_path: Path) -> OperationalError:
    """The error SQLAlchemy raises when another program holds the SQLite file's write lock."""
    path = tmp_path / "held.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN IMMEDIATE")
    engine = sa.create_engine(f"sqlite:///{path}", connect_args={"timeout": 0})
    try:
        with engine.begin() as connection:
            connection.execute(sa.text("INSERT INTO t VALUES (1)"))
    except OperationalError as error:
        return error
    finally:
        engine.dispose()
        holder.close()
    raise AssertionError("the write went through a held lock")


def integrity_error() -> IntegrityError:
    engine = sa.create_engine("sqlite://")
    try:
        with engine.begin() as connection:
            connection.execute(sa.text("CREATE TABLE t (x UNIQUE)"))
            connection.execute(sa.text("INSERT INTO t VALUES (1)"))
            connection.execute(sa.text("INSERT INTO t VALUES (1)"))
    except IntegrityError as error:
        return error
    raise AssertionError("a duplicate went in")


def test_a_locked_or_unreachable_database_is_unavailable_and_other_errors_are_not(
    tmp_path: Path,
) -> None:
    assert unavailable_reason(locked_error(tmp_path)) == "database is locked"
    assert unavailable_reason(integrity_error()) is None
    assert unavailable_reason(ValueError("a bug")) is None


def test_an_outage_is_told_once_reminded_every_few_minutes_and_its_end_told(
    tmp_path: Path,
) -> None:
    outage, error = StoreOutage(), locked_error(tmp_path)
    assert outage.failed(error, T) == (
        True,
        "store unavailable: database is locked; polls and deliveries wait until it answers again",
    )
    assert outage.failed(error, T + dt.timedelta(seconds=2)) == (True, None)
    assert outage.failed(error, T + REMIND_EVERY - dt.timedelta(seconds=1)) == (True, None)
    assert outage.failed(error, T + REMIND_EVERY) == (
        True,
        "store still unavailable after 5m: database is locked",
    )
    assert outage.status(T + dt.timedelta(minutes=6)) == ", store unavailable for 6m"
    assert outage.answered(T + dt.timedelta(minutes=7)) == (
        "store answers again (unavailable for 7m)",
        False,  # the ops notifier had not been told
    )
    assert outage.status(T + dt.timedelta(minutes=7)) == ""
    assert outage.answered(T + dt.timedelta(minutes=8)) is None


def test_another_error_is_the_callers_to_report_and_starts_no_outage() -> None:
    outage = StoreOutage()
    assert outage.failed(integrity_error(), T) == (False, None)
    assert outage.since is None
    assert outage.answered(T) is None


@pytest.mark.parametrize(
    ("after", "lasted", "ended"),
    [(dt.timedelta(seconds=30), "30s", "1m"), (dt.timedelta(minutes=10), "10m", "20m")],
)
def test_ops_hears_of_an_outage_once_it_lasts_and_then_of_its_end(
    tmp_path: Path, after: dt.timedelta, lasted: str, ended: str
) -> None:
    outage, error = StoreOutage(tell_ops_after=after), locked_error(tmp_path)
    outage.failed(error, T)
    assert outage.ops_message(T + after - dt.timedelta(seconds=1)) is None
    assert outage.ops_message(T + after) == f"store unavailable for {lasted}: database is locked"
    assert outage.ops_message(T + after + dt.timedelta(minutes=1)) is None  # once
    assert outage.answered(T + after * 2) == (
        f"store answers again (unavailable for {ended})",
        True,
    )
    # A blip afterwards is not told: the next outage starts afresh.
    outage.failed(error, T + after * 3)
    assert outage.answered(T + after * 3 + dt.timedelta(seconds=1)) == (
        "store answers again (unavailable for 1s)",
        False,
    )
