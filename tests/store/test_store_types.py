"""The store's column types: what they keep in memory while binding values."""

from __future__ import annotations

import datetime as dt
import gc
import tracemalloc

import sqlalchemy as sa

from watcher.store.types import UTCDateTime


def test_binding_many_distinct_instants_keeps_no_memory_of_them() -> None:
    """A daemon binds new instants to the same statements for months: whatever speeds up
    their conversion must stay small (it once kept 4,096 per statement, ~1 MB each)."""
    engine = sa.create_engine("sqlite://")
    table = sa.Table("t", sa.MetaData(), sa.Column("at", UTCDateTime()))
    table.metadata.create_all(engine)
    start = dt.datetime(2026, 1, 1, 9, 30, tzinfo=dt.timezone(dt.timedelta(hours=3)))
    with engine.begin() as connection:  # compiled and cached before measuring
        connection.execute(table.insert(), [{"at": start}])
    instants = [start + dt.timedelta(seconds=n) for n in range(20_000)]
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        with engine.begin() as connection:
            connection.execute(table.insert(), [{"at": at} for at in instants])
        gc.collect()
        retained = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert retained < 100_000
    with engine.connect() as connection:
        stored = connection.execute(sa.select(table.c.at).order_by(table.c.at)).scalars().all()
    assert stored[1] == instants[0].astimezone(dt.UTC) and stored[1].tzinfo == dt.UTC
    assert stored[-1] == instants[-1]
