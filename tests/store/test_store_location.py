"""Where the store lives and which URLs it accepts."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from watcher.cli import app
from watcher.store import Store, StoreError, default_path
from watcher.store.location import database_url


def test_systemd_state_directory_wins(tmp_path: Path) -> None:
    env = {"STATE_DIRECTORY": f"{tmp_path}/a:{tmp_path}/b", "XDG_STATE_HOME": "/elsewhere"}
    assert default_path(env) == tmp_path / "a" / "watcher.db"


def test_xdg_state_home_then_home_default() -> None:
    assert default_path({"XDG_STATE_HOME": "/xdg"}) == Path("/xdg/watcher/watcher.db")
    expected = Path.home() / ".local" / "state" / "watcher" / "watcher.db"
    assert default_path({}) == expected
    # The XDG spec says relative values are invalid and must be ignored.
    assert default_path({"XDG_STATE_HOME": "relative/dir"}) == expected


def test_no_url_means_the_default_sqlite_file(tmp_path: Path) -> None:
    url = database_url(None, {"STATE_DIRECTORY": str(tmp_path)})
    assert url.get_backend_name() == "sqlite"
    assert url.database == str(tmp_path / "watcher.db")


def test_sqlite_url_and_bare_path(tmp_path: Path) -> None:
    assert database_url(f"sqlite:///{tmp_path}/x.db").database == f"{tmp_path}/x.db"
    assert database_url(f"{tmp_path}/y.db").database == f"{tmp_path}/y.db"


@pytest.mark.parametrize(
    "given",
    [
        "postgresql://watcher:secret@db.internal:5432/watcher",
        "postgres://watcher:secret@db.internal:5432/watcher",
        "postgresql+psycopg://watcher:secret@db.internal:5432/watcher",
    ],
)
def test_postgres_urls_use_psycopg3(given: str) -> None:
    url = database_url(given)
    assert url.drivername == "postgresql+psycopg"
    assert (url.host, url.database, url.password) == ("db.internal", "watcher", "secret")


def test_in_memory_sqlite_is_refused() -> None:
    with pytest.raises(StoreError, match="in-memory database forgets"):
        database_url("sqlite://")


def test_unsupported_database_names_itself_without_the_password() -> None:
    with pytest.raises(StoreError, match="unsupported database") as caught:
        database_url("mysql://root:hunter2@db/watcher")
    assert "hunter2" not in str(caught.value)
    assert "mysql://root:***@db/watcher" in str(caught.value)


def test_a_read_only_open_never_creates_a_store_where_none_is(tmp_path: Path) -> None:
    missing = tmp_path / "state" / "watcher.db"

    with pytest.raises(StoreError, match=r"does not exist: nothing has run with this store yet"):
        Store.open(f"sqlite:///{missing}", migrate=False)

    assert not missing.parent.exists()
    Store.open(f"sqlite:///{missing}").close()  # the daemon's open creates it
    Store.open(f"sqlite:///{missing}", migrate=False).close()


def test_watcher_status_outside_the_unit_says_where_it_looked(tmp_path: Path) -> None:
    config = tmp_path / "watcher.toml"
    config.write_text("", encoding="utf-8")

    result = CliRunner().invoke(
        app, ["status", "--config", str(config)], env={"XDG_STATE_HOME": str(tmp_path / "xdg")}
    )

    assert result.exit_code == 2
    assert f"store sqlite+pysqlite:///{tmp_path}/xdg/watcher/watcher.db does not exist" in (
        result.stderr
    )
    assert "$STATE_DIRECTORY, which is set only inside the unit" in result.stderr
    assert not (tmp_path / "xdg").exists()
