"""A rule's `notify` naming a notifier the config lacks: reported, and no alert is lost."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.support.httpserver import LoopbackServer, Reply
from watcher.alerts.routes import alert_notifiers, unknown_notifiers
from watcher.cli import app
from watcher.config import load_settings
from watcher.matching import load_ruleset

FEED = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Wire</title><link>http://127.0.0.1/</link>
<item><title>Bakers queue for sourdough starter</title><guid>b1</guid>
<description>A sourdough revival in the old town.</description></item>
</channel></rss>"""


def write_rule(directory: Path, notify: str) -> Path:
    directory.mkdir(exist_ok=True)
    (directory / "bakery.yaml").write_text(
        "# bakery news\n"
        "id: bakery\ntitle: Bakery news\nseverity: high\n"
        f"notify: {notify}\nmatch:\n  any: [sourdough]\n",
        encoding="utf-8",
    )
    return directory


def write_config(tmp_path: Path, rules: Path, feed_url: str = "http://127.0.0.1:9/feed") -> Path:
    config = tmp_path / "watcher.toml"
    config.write_text(
        f'[store]\nurl = "sqlite:///{tmp_path / "state.db"}"\n'
        f'[rules]\npaths = ["{rules}"]\n[poll]\nfirst_poll_alerts = 5\n'
        '[notifiers.desk]\nurls = ["json://127.0.0.1:9/hook"]\n'
        '[routes]\nhigh = ["console"]\n'
        f'[[feeds]]\nname = "wire"\nurl = "{feed_url}"\n',
        encoding="utf-8",
    )
    return config


@pytest.mark.parametrize(
    ("notify", "expected"),
    [
        ("[desk]", ["desk"]),
        ("[desk, pager]", ["desk"]),
        ("[pager]", ["console"]),
        ("[]", ["console"]),
    ],
)
def test_alerts_go_to_the_named_notifiers_that_exist_else_the_severity_route(
    tmp_path: Path, notify: str, expected: list[str]
) -> None:
    rules = write_rule(tmp_path / "rules", notify)
    settings = load_settings(write_config(tmp_path, rules))
    [rule] = load_ruleset([rules]).loaded.rules

    assert alert_notifiers(rule, "high", settings) == expected


def test_each_unknown_name_is_a_problem_at_the_rule(tmp_path: Path) -> None:
    rules = write_rule(tmp_path / "rules", "[pager, desk, sms]")
    settings = load_settings(write_config(tmp_path, rules))

    [problem] = unknown_notifiers(load_ruleset([rules]).loaded.rules, settings)

    assert str(problem) == (
        f"{rules / 'bakery.yaml'}:5:9: rule 'bakery': notify names unknown notifier "
        "'pager', 'sms' (configured: console, desk); its alerts go to the others it names"
    )


def test_check_reports_an_unknown_notifier_and_fails(tmp_path: Path) -> None:
    rules = write_rule(tmp_path / "rules", "[pager]")

    result = CliRunner().invoke(app, ["check", "--config", str(write_config(tmp_path, rules))])

    assert result.exit_code == 1
    assert (
        f"{rules / 'bakery.yaml'}:5:9: rule 'bakery': notify names unknown notifier 'pager' "
        "(configured: console, desk); its alerts follow routes.high"
    ) in result.stdout


def test_the_alert_of_a_rule_naming_only_unknown_notifiers_follows_its_route(
    tmp_path: Path,
) -> None:
    rules = write_rule(tmp_path / "rules", "[pager]")
    with LoopbackServer() as server:
        server.route(
            "/feed", Reply(headers={"Content-Type": "application/rss+xml"}, body=FEED.encode())
        )
        config = write_config(tmp_path, rules, server.url("/feed"))

        polled = CliRunner().invoke(app, ["poll", "--config", str(config)])
        assert polled.exit_code == 0, polled.output

    assert "bakery" in polled.stdout
    status = CliRunner().invoke(app, ["status", "--config", str(config), "--format", "json"])
    assert json.loads(status.stdout)["outbox"]["pending"] == 1
    sent = CliRunner().invoke(app, ["run", "--once", "--config", str(config)])
    assert "[HIGH] Bakery news — Bakers queue for sourdough starter" in sent.stdout
