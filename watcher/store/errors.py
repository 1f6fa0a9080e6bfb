"""What the store raises, and how to tell an unavailable database from other errors."""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError


class StoreError(Exception):
    """A store problem a user can act on: a bad URL, a database newer than this code, bad input."""


class StoreUnavailable(StoreError):
    """The database could not be opened for now: it cannot be reached, refuses connections,
    or is locked; waiting may be all it takes."""


def unavailable_reason(error: BaseException) -> str | None:
    """One line saying why the database cannot be used right now, when that is what `error`
    means: it cannot be reached or dropped the connection (PostgreSQL), or is locked, full or
    unreadable (SQLite). None for any other error (a bug, data the database refused)."""
    if not isinstance(error, OperationalError | InterfaceError) and not (
        isinstance(error, DBAPIError) and error.connection_invalidated
    ):
        return None
    detail = error.orig if isinstance(error, DBAPIError) and error.orig is not None else error
    lines = [line.strip() for line in str(detail).splitlines() if line.strip()]
    return lines[0] if lines else type(detail).__name__
