"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

from sqlalchemy import JSON, DateTime, TypeDecorator
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect

#: Converted instants a statement remembers (see `UTCDateTime.bind_processor`).
CONVERTED_INSTANTS = 64


class UTCDateTime(TypeDecorator[dt.datetime]):
    """An instant: timezone-aware datetimes in, timezone-aware UTC datetimes out.

    SQLite has no time zones: values are stored as UTC in SQLAlchemy's fixed-width ISO text, so
    string comparison in SQL orders them correctly. A naive datetime is refused, because the
    store cannot know which zone it meant.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"the store needs timezone-aware datetimes, got naive {value!r}")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def bind_processor(self, dialect: Dialect) -> Any:
        process = super().bind_processor(dialect)
        # An ingest binds the same few instants (the poll's time, the fetch time) to thousands
        # of rows; converting each distinct one once saves most of the per-row cost. (Equal
        # instants in different zones are equal keys and convert to the same value.) Small:
        # every compiled statement gets its own cache, for the life of the process.
        return functools.lru_cache(maxsize=CONVERTED_INSTANTS)(process) if process else None

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


#: JSON documents; JSONB on PostgreSQL. A Python None is SQL NULL.
Json = JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")
