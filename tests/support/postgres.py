"""A fresh, empty schema in the PostgreSQL database WATCHER_TEST_POSTGRES_URL names (the test
is skipped when it is unset), dropped with everything in it afterwards."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

POSTGRES_ENV = "WATCHER_TEST_POSTGRES_URL"


def postgres_base_url() -> sa.URL:
    url = os.environ.get(POSTGRES_ENV, "")
    if not url:
        pytest.skip(f"{POSTGRES_ENV} is not set")
    parsed = sa.make_url(url)
    if parsed.drivername in ("postgres", "postgresql"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


@contextlib.contextmanager
def fresh_schema(base: sa.URL | None = None) -> Iterator[sa.URL]:
    """A URL whose connections see only a new schema of their own (`search_path`)."""
    base = base if base is not None else postgres_base_url()
    schema_name = f"watcher_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base)
    with admin.begin() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema_name}"'))
    try:
        yield base.update_query_dict({"options": f"-csearch_path={schema_name}"})
    finally:
        with admin.begin() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{schema_name}" CASCADE'))
        admin.dispose()


def render(url: sa.URL) -> str:
    return url.render_as_string(hide_password=False)
