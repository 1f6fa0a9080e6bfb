"""`watcher check`: every problem of a config named by file and key, each once."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from watcher.cli import app

ROOT = Path(__file__).resolve().parents[2]
MISSING = "is neither a credential in $CREDENTIALS_DIRECTORY nor an environment variable"


def write(tmp_path: Path, text: str) -> Path:
    config = tmp_path / "watcher.toml"
    config.write_text(text, encoding="utf-8")
    return config


def test_notifier_and_feed_problems_are_named_by_file_and_key(tmp_path: Path) -> None:
    config = write(
        tmp_path,
        """
[notifiers.desk]
urls = ["json://127.0.0.1:9/${NO_SUCH_SECRET_FOR_TESTS}", "notaurl://x"]

[[feeds]]
name = "fine"
url = "http://127.0.0.1:9/a"

[[feeds]]
name = "members"
url = "http://127.0.0.1:9/b"
headers = { Authorization = "Bearer ${NO_SUCH_TOKEN_FOR_TESTS}" }
""",
    )

    result = CliRunner().invoke(app, ["check", "--config", str(config), "-r", str(ROOT / "rules")])

    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        f"{config}: notifiers.desk.urls[1]: secret ${{NO_SUCH_SECRET_FOR_TESTS}} {MISSING}",
        f"{config}: notifiers.desk.urls[2]: not a valid apprise URL (unknown scheme or missing "
        "parts; see https://appriseit.com/services/)",
        f"{config}: feeds[2].headers: secret ${{NO_SUCH_TOKEN_FOR_TESTS}} {MISSING} "
        "(feed 'members')",
    ]


SCHEDULES = """
[notifiers.desk]
console = true
timezone = "Mars/Olympus"
digest = "daily 08:00"
quiet_hours = "25:00-07:00"
rate_limit = "lots"

[notifiers.night]
console = true
digest = "weekly"
"""


@pytest.mark.parametrize("command", [["check"], ["run", "--once"], ["poll"]])
def test_schedules_that_cannot_be_read_are_config_errors_everywhere(
    tmp_path: Path, command: list[str]
) -> None:
    """Not only `check`: the daemon refuses them at start and on reload, before a digest job
    or a delivery could fail on them."""
    config = write(tmp_path, SCHEDULES)

    result = CliRunner().invoke(app, [*command, "--config", str(config)])

    assert result.exit_code == (1 if command == ["check"] else 2)
    output = result.stdout if command == ["check"] else result.stderr
    assert output.splitlines() == [
        f"{config}: notifiers.desk.timezone: expected an IANA time zone such as "
        "'Asia/Shanghai', got 'Mars/Olympus'",
        f"{config}: notifiers.desk.quiet_hours: expected HH:MM-HH:MM, got '25:00-07:00'",
        f"{config}: notifiers.desk.rate_limit: expected COUNT/PERIOD such as '20/h' or '5/10m', "
        "got 'lots'",
        f"{config}: notifiers.night.digest: expected 'hourly', 'daily HH:MM' or a five-field "
        "cron expression such as '0 8 * * mon-fri', got 'weekly'",
    ]
