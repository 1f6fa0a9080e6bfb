"""The `watcher dry-run`, `check` and `rules test` contract (issue 2 §5)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from watcher.cli import app

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "rules"
SEEDS = ROOT.parent / "shared" / "seeds"

ARTICLE = """\
 date 2025-06-02 MIDDLE EAST
Ministers discuss the return of refugees
Officials say the voluntary return of Syrian refugees will start in June.
Families wait at a camp near the frontier. (Photo: Staff) / AGENCY
2 hours ago

The plan covers the voluntary and safe return of Syrian refugees from Türkiye.

Border talks

Soldiers stepped up patrols along the frontier to stop smugglers.

SOURCE:Example Wire
"""

SPORT = """\
 date 2025-06-02 SPORT
Striker returns for the border derby
The veteran striker returns to the squad after injury.

1 hour ago

Security was tight at the stadium as fans arrived.

SOURCE:Sports Desk
"""


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def articles(tmp_path: Path) -> Path:
    folder = tmp_path / "articles"
    (folder / "nested").mkdir(parents=True)
    (folder / "refugees.txt").write_text(ARTICLE, encoding="utf-8")
    (folder / "nested" / "sport.txt").write_text(SPORT, encoding="utf-8")
    (folder / "notes.md").write_text("not an article", encoding="utf-8")
    return folder


def json_lines(output: str) -> list[dict]:
    return [json.loads(line) for line in output.splitlines() if line.strip()]


def test_json_lines_follow_the_contract(runner: CliRunner, articles: Path) -> None:
    result = runner.invoke(
        app, ["dry-run", "--rules", str(RULES), "--format", "json", str(articles)]
    )
    assert result.exit_code == 0, result.output
    lines = json_lines(result.stdout)
    assert {line["rule"] for line in lines} >= {"refugee-returns", "border-security"}
    refugee = next(line for line in lines if line["rule"] == "refugee-returns")
    assert refugee["article"].endswith("refugees.txt")
    assert refugee["date"] == "2025-06-02"
    assert refugee["section"] == "MIDDLE EAST"
    assert refugee["severity"] == "medium"
    assert refugee["matched"] is True
    assert isinstance(refugee["score"], float | int)
    text = ARTICLE.splitlines()
    for evidence in refugee["evidence"]:
        assert set(evidence) >= {"field", "start", "end", "text", "term"}
        if evidence["field"] == "body":
            blocks = [b for b in ARTICLE.split("\n\n")[1:-1]]
            source = blocks[evidence["block"]].strip()
        else:
            source = text[{"title": 1, "summary": 2, "caption": 3}[evidence["field"]]]
        assert source[evidence["start"] : evidence["end"]] == evidence["text"]
    # The sport page matches nothing: its metaphors are excluded.
    assert not any(line["article"].endswith("sport.txt") for line in lines)


def test_all_adds_the_misses(runner: CliRunner, articles: Path) -> None:
    result = runner.invoke(
        app, ["dry-run", "-r", str(RULES), "--format", "json", "--all", str(articles / "nested")]
    )
    lines = json_lines(result.stdout)
    assert len(lines) == 8 and all(line["matched"] is False for line in lines)


def test_text_format_highlights_evidence(runner: CliRunner, articles: Path) -> None:
    result = runner.invoke(app, ["dry-run", "-r", str(RULES), str(articles / "refugees.txt")])
    assert result.exit_code == 0
    assert "refugee-returns" in result.stdout and "MEDIUM" in result.stdout
    assert "«return»" in result.stdout or "«voluntary return»" in result.stdout


def test_stdin_stream_of_articles(runner: CliRunner) -> None:
    stream = ARTICLE + "---\n" + SPORT
    result = runner.invoke(app, ["dry-run", "-r", str(RULES), "-f", "json", "-"], input=stream)
    assert result.exit_code == 0
    assert {line["article"] for line in json_lines(result.stdout)} == {"-#1"}


def test_unreadable_article_exits_2_and_the_rest_still_run(
    runner: CliRunner, articles: Path
) -> None:
    (articles / "broken.txt").write_text("no date line here\n", encoding="utf-8")
    result = runner.invoke(app, ["dry-run", "-r", str(RULES), "-f", "json", str(articles)])
    assert result.exit_code == 2
    assert "broken.txt:1: expected ' date YYYY-MM-DD SECTION'" in result.stderr
    assert any(line["rule"] == "refugee-returns" for line in json_lines(result.stdout))


def test_invalid_rule_exits_1_and_valid_rules_still_run(
    runner: CliRunner, articles: Path, tmp_path: Path
) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "good.yaml").write_text("id: good\ntitle: Good\nmatch: refugee\n", encoding="utf-8")
    (rules / "bad.yaml").write_text("id: bad\ntitle: Bad\nmatch: '(refugee'\n", encoding="utf-8")
    result = runner.invoke(app, ["dry-run", "-r", str(rules), "-f", "json", str(articles)])
    assert result.exit_code == 1
    assert "bad.yaml:3:9: unbalanced parenthesis" in result.stderr
    assert [line["rule"] for line in json_lines(result.stdout)] == ["good"]


def test_check_reports_problems_and_exit_codes(runner: CliRunner, tmp_path: Path) -> None:
    assert runner.invoke(app, ["check", "-r", str(RULES)]).exit_code == 0
    (tmp_path / "r.yaml").write_text("id: r\ntitle: R\nsevirity: low\nmatch: x\n", encoding="utf-8")
    result = runner.invoke(app, ["check", "-r", str(tmp_path)])
    assert result.exit_code == 1
    assert "r.yaml:3:1: unknown key 'sevirity' (did you mean 'severity'?)" in result.stdout


def test_rules_test_passes_for_shipped_rules_and_fails_on_a_wrong_example(
    runner: CliRunner, tmp_path: Path
) -> None:
    shipped = runner.invoke(app, ["rules", "test", "-r", str(RULES)])
    assert shipped.exit_code == 0, shipped.stdout
    assert " 0 failed" in shipped.stdout
    (tmp_path / "r.yaml").write_text(
        "id: r\ntitle: R\nmatch: refugee\nexamples:\n  match: [A striker returned.]\n"
        "  todo_no_match: [A refugee from the rain.]\n",
        encoding="utf-8",
    )
    result = runner.invoke(app, ["rules", "test", "-r", str(tmp_path)])
    assert result.exit_code == 1
    assert "r.yaml:5:11: FAIL r: example should match" in result.stdout
    assert "todo r: todo_no_match still open" in result.stdout


@pytest.mark.skipif(not SEEDS.is_dir(), reason="../shared/seeds not present")
def test_seed_article_matches_the_seed_topics(runner: CliRunner) -> None:
    result = runner.invoke(app, ["dry-run", "-r", str(RULES), "-f", "json", str(SEEDS)])
    matched = {line["rule"] for line in json_lines(result.stdout)}
    assert matched >= {"border-security", "refugee-returns", "counter-terrorism", "detention-camps"}


def test_console_script_runs(tmp_path: Path) -> None:
    article = tmp_path / "a.txt"
    article.write_text(ARTICLE, encoding="utf-8")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "watcher.cli",
            "dry-run",
            "-r",
            str(RULES),
            "-f",
            "json",
            str(article),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "refugee-returns" in done.stdout
