"""Every store test runs against SQLite (a file in tmp_path) and PostgreSQL (a fresh schema in
the database WATCHER_TEST_POSTGRES_URL names; skipped when it is unset)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.postgres import fresh_schema, render
from watcher.store import Store


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL to an empty store of each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'state' / 'watcher.db'}"
        return
    with fresh_schema() as url:
        yield render(url)


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
