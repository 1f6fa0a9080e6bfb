"""Every store test runs against SQLite (a file in tmp_path) and PostgreSQL (a fresh schema in
the database WATCHER_TEST_POSTGRES_URL names; skipped when it is unset)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from watcher.store import Store

POSTGRES_ENV = "WATCHER_TEST_POSTGRES_URL"


def _postgres_base_url() -> sa.URL:
    url = os.environ.get(POSTGRES_ENV, "")
    if not url:
        pytest.skip(f"{POSTGRES_ENV} is not set")
    parsed = sa.make_url(url)
    if parsed.drivername in ("postgres", "postgresql"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL to an empty store of each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'state' / 'watcher.db'}"
        return
    base = _postgres_base_url()
    schema_name = f"watcher_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base)
    with admin.begin() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema_name}"'))
    try:
        scoped = base.update_query_dict({"options": f"-csearch_path={schema_name}"})
        yield scoped.render_as_string(hide_password=False)
    finally:
        with admin.begin() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{schema_name}" CASCADE'))
        admin.dispose()


@pytest.fixture
def open_store(store_url: str) -> Iterator[Callable[[], Store]]:
    """Opens the store (again): each call is a fresh process's view of the same database."""
    opened: list[Store] = []

    def opener() -> Store:
        store = Store.open(store_url)
        opened.append(store)
        return store

    yield opener
    for store in opened:
        store.close()


@pytest.fixture
def store(open_store: Callable[[], Store]) -> Store:
    return open_store()
