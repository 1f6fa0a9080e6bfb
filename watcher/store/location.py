"""Where the store lives: the default SQLite file, and the database URLs a user may give."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from watcher.store.errors import StoreError

DB_FILENAME = "watcher.db"
EXPECTED = "expected sqlite:///PATH, postgresql://USER@HOST/DB or a file path"

# psycopg 3 is the PostgreSQL driver we ship; the short spellings users copy from hosting
# dashboards would otherwise make SQLAlchemy look for psycopg2.
_POSTGRES_NAMES = frozenset({"postgres", "postgresql", "postgresql+psycopg"})
_SQLITE_NAMES = frozenset({"sqlite", "sqlite+pysqlite"})


def default_path(environ: Mapping[str, str] | None = None) -> Path:
    """`$STATE_DIRECTORY/watcher.db` under systemd, else `$XDG_STATE_HOME/watcher/watcher.db`
    (`~/.local/state/watcher/watcher.db` when XDG_STATE_HOME is unset)."""
    env = os.environ if environ is None else environ
    # systemd joins several StateDirectory= entries with colons; ours is the first.
    state_directory = env.get("STATE_DIRECTORY", "").split(":")[0]
    if state_directory:
        return Path(state_directory) / DB_FILENAME
    xdg = env.get("XDG_STATE_HOME", "")
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".local" / "state"
    return base / "watcher" / DB_FILENAME


def database_url(url: str | None = None, environ: Mapping[str, str] | None = None) -> URL:
    """The SQLAlchemy URL for a configured store location (None or empty: the default file)."""
    if not url or not url.strip():
        return _sqlite_file(default_path(environ))
    text = url.strip()
    if "://" not in text:
        return _sqlite_file(Path(text).expanduser())
    try:
        parsed = make_url(text)
    except ArgumentError as error:
        raise StoreError(f"store URL is not a URL ({error}); {EXPECTED}") from None
    shown = parsed.render_as_string(hide_password=True)
    if parsed.drivername in _POSTGRES_NAMES:
        return parsed.set(drivername="postgresql+psycopg")
    if parsed.drivername in _SQLITE_NAMES:
        if not parsed.database or parsed.database == ":memory:":
            raise StoreError(
                f"store URL {shown!r}: an in-memory database forgets what was seen and queued "
                f"at every restart; {EXPECTED}"
            )
        return _sqlite_file(Path(parsed.database).expanduser())
    raise StoreError(f"store URL {shown!r}: unsupported database; {EXPECTED}")


def _sqlite_file(path: Path) -> URL:
    return URL.create("sqlite+pysqlite", database=str(path))


def describe(url: URL) -> str:
    """The URL for messages and logs, password hidden."""
    return url.render_as_string(hide_password=True)
