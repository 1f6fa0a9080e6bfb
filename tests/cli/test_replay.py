"""`watcher replay`: today's rules over the stored articles, against the verdicts stored then."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.support.httpserver import LoopbackServer, Reply
from watcher.cli import app
from watcher.demo import article_feed
from watcher.matching import Evidence, Match
from watcher.replay import RuleTally, compare, tally
from watcher.seedtext import read_file

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.txt"))
SANCTIONS = "EU moves to lift economic sanctions on Syria"
DERBY = "Demir returns from injury to settle border derby"
PATROLS = "Türkiye steps up border patrols in Hatay"


@pytest.fixture
def polled(tmp_path: Path) -> Path:
    """A store that polled the example articles once with the shipped rules; its config."""
    with LoopbackServer() as server:
        document = article_feed([read_file(path) for path in EXAMPLES], server.url(""))
        server.route(
            "/feed.xml",
            Reply(headers={"Content-Type": "application/rss+xml"}, body=document),
        )
        config = tmp_path / "watcher.toml"
        config.write_text(
            f'[store]\nurl = "sqlite:///{tmp_path / "state.db"}"\n'
            f'[rules]\npaths = ["{ROOT / "rules"}"]\n'
            f"[poll]\nfirst_poll_alerts = {len(EXAMPLES)}\n"
            f'[[feeds]]\nname = "wire"\nurl = "{server.url("/feed.xml")}"\n',
            encoding="utf-8",
        )
        polled = CliRunner().invoke(app, ["poll", "--config", str(config)])
        assert polled.exit_code == 0, polled.output
        assert f"{len(EXAMPLES)} new entries" in polled.stderr
    return config


def edited_rules(tmp_path: Path) -> Path:
    """The shipped rules with sanctions deleted, border security made unreachable, and a new
    football rule."""
    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", rules)
    (rules / "sanctions.yaml").unlink()
    with (rules / "border-security.yaml").open("a", encoding="utf-8") as handle:
        handle.write("min_score: 1000\n")
    (rules / "football.yaml").write_text(
        "id: football\ntitle: Football\nseverity: low\nmatch:\n  any: ['derby OR striker']\n",
        encoding="utf-8",
    )
    return rules


def test_unchanged_rules_change_nothing(polled: Path) -> None:
    result = CliRunner().invoke(app, ["replay", "--config", str(polled)])

    assert result.exit_code == 0, result.output
    assert f"{len(EXAMPLES)} articles replayed (all stored); matches: 0 added, 0 removed" in (
        result.stdout
    )
    assert " + " not in result.stdout and SANCTIONS not in result.stdout


def test_a_rule_change_shows_what_it_adds_and_removes(polled: Path, tmp_path: Path) -> None:
    rules = edited_rules(tmp_path)

    result = CliRunner().invoke(app, ["replay", "--config", str(polled), "--rules", str(rules)])

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    derby = next(i for i, line in enumerate(lines) if DERBY in line)
    assert lines[derby + 1].startswith("  + LOW      football  score")
    assert "«derby»" in lines[derby + 2]
    patrols = next(i for i, line in enumerate(lines) if PATROLS in line)
    assert lines[patrols + 1].startswith("  - border-security  matched when stored, score")
    sanctions = next(i for i, line in enumerate(lines) if SANCTIONS in line)
    assert "? sanctions  matched when stored" in lines[sanctions + 1]
    assert "not among today's rules" in lines[sanctions + 1]
    table = {line.split()[0]: line.split()[1:] for line in lines if line.startswith(" ")}
    assert table["football"] == ["0", "1", "+1", "-0"]
    assert table["border-security"] == ["1", "0", "+0", "-1"]
    assert table["sanctions"] == ["1", "not", "loaded", "+0", "-0"]
    assert "matches: 1 added, 1 removed" in result.stdout


def test_json_lines_name_article_rule_change_and_both_scores(polled: Path, tmp_path: Path) -> None:
    rules = edited_rules(tmp_path)

    result = CliRunner().invoke(
        app, ["replay", "--config", str(polled), "--rules", str(rules), "--format", "json"]
    )

    assert result.exit_code == 0, result.output
    changes = {(c["rule"], c["change"]): c for c in map(json.loads, result.stdout.splitlines())}
    assert set(changes) == {
        ("football", "added"),
        ("border-security", "removed"),
        ("sanctions", "absent"),
    }
    added = changes["football", "added"]
    assert added["title"].startswith(DERBY) and added["feed"] == "wire"
    assert added["score_then"] is None and added["score_now"] > 0
    assert added["url"].startswith("http://127.0.0.1:") and added["evidence"]
    removed = changes["border-security", "removed"]
    assert removed["score_then"] > 0 and removed["score_now"] is None
    assert "matches: 1 added, 1 removed" in result.stderr


def test_all_lists_the_matches_kept_too(polled: Path) -> None:
    result = CliRunner().invoke(app, ["replay", "--config", str(polled), "--all", "-f", "json"])

    kept = [json.loads(line) for line in result.stdout.splitlines()]
    assert kept and {c["change"] for c in kept} == {"kept"}
    assert all(c["score_then"] == c["score_now"] for c in kept)


def test_a_broken_rule_file_is_reported_and_its_stored_matches_marked_absent(
    polled: Path, tmp_path: Path
) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", rules)
    (rules / "sanctions.yaml").write_text("id: sanctions\nmatch: [\n", encoding="utf-8")

    result = CliRunner().invoke(app, ["replay", "--config", str(polled), "--rules", str(rules)])

    assert result.exit_code == 1
    assert f"{rules / 'sanctions.yaml'}:" in result.stderr
    assert "? sanctions  matched when stored" in result.stdout


def test_since_must_be_a_duration(polled: Path) -> None:
    result = CliRunner().invoke(app, ["replay", "--config", str(polled), "--since", "soon"])

    assert result.exit_code == 2
    assert "--since: expected a duration such as 30s" in result.stderr


def test_since_leaves_out_articles_stored_before_it(polled: Path) -> None:
    result = CliRunner().invoke(app, ["replay", "--config", str(polled), "--since", "0s"])

    assert result.exit_code == 0, result.output
    assert "0 articles replayed (since " in result.stdout


def match(rule_id: str, score: float = 2.0) -> Match:
    return Match(
        rule_id=rule_id,
        rule_title=rule_id,
        severity="low",
        score=score,
        matched=True,
        evidence=[Evidence(field="title", start=0, end=1, text="x", term="x")],
    )


def test_compare_and_tally() -> None:
    verdicts = compare(
        {"kept": 1.0, "dropped": 2.0, "deleted": 3.0},
        [match("kept", 4.0), match("new")],
        rules={"kept", "new", "dropped"},
    )

    assert [(v.rule_id, v.change, v.score_then) for v in verdicts] == [
        ("kept", "kept", 1.0),
        ("new", "added", None),
        ("deleted", "absent", 3.0),
        ("dropped", "removed", 2.0),
    ]
    tallies: dict[str, RuleTally] = {}
    tally(verdicts, tallies)
    tally(verdicts, tallies)
    assert tallies["kept"] == RuleTally(then=2, now=2)
    assert tallies["new"] == RuleTally(now=2, added=2)
    assert tallies["dropped"] == RuleTally(then=2, removed=2)
    assert tallies["deleted"] == RuleTally(then=2)
