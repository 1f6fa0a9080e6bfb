"""`watcher check`: every problem of a config named by file and key, each once."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from watcher.cli import app

ROOT = Path(__file__).resolve().parents[2]


def test_notifier_and_feed_problems_are_named_by_file_and_key(tmp_path: Path) -> None:
    config = tmp_path / "watcher.toml"
    config.write_text(
        """
[notifiers.desk]
urls = ["json://127.0.0.1:9/${NO_SUCH_SECRET_FOR_TESTS}", "notaurl://x"]
quiet_hours = "25:00-07:00"
rate_limit = "lots"

[notifiers.night]
console = true
timezone = "Mars/Olympus"
digest = "daily 08:00"

[[feeds]]
name = "fine"
url = "http://127.0.0.1:9/a"

[[feeds]]
name = "members"
url = "http://127.0.0.1:9/b"
headers = { Authorization = "Bearer ${NO_SUCH_TOKEN_FOR_TESTS}" }
""",
        encoding="utf-8",
    )

    result = CliRunner().invoke(app, ["check", "--config", str(config), "-r", str(ROOT / "rules")])

    assert result.exit_code == 1
    missing = "is neither a credential in $CREDENTIALS_DIRECTORY nor an environment variable"
    assert result.stdout.splitlines() == [
        f"{config}: notifiers.desk.urls[1]: secret ${{NO_SUCH_SECRET_FOR_TESTS}} {missing}",
        f"{config}: notifiers.desk.urls[2]: not a valid apprise URL (unknown scheme or missing "
        "parts; see https://appriseit.com/services/)",
        f"{config}: notifiers.desk.quiet_hours: expected HH:MM-HH:MM, got '25:00-07:00'",
        f"{config}: notifiers.desk.rate_limit: expected COUNT/PERIOD such as '20/h' or '5/10m', "
        "got 'lots'",
        f"{config}: notifiers.night.timezone: expected an IANA time zone such as "
        "'Asia/Shanghai', got 'Mars/Olympus'",
        f"{config}: feeds[2].headers: secret ${{NO_SUCH_TOKEN_FOR_TESTS}} {missing} "
        "(feed 'members')",
    ]
