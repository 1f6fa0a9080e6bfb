"""`watcher demo`: the README's first command runs the daemon's whole cycle offline."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.test_example_articles import LOOK_ALIKES, TOPICS
from watcher.article import Article, Block
from watcher.demo import article_feed
from watcher.feeds.parse import FeedContext, ParsedFeed, parse_feed
from watcher.matching import load_ruleset, match_article
from watcher.seedtext import read_file

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.txt"))
SEED_FIELDS = ("date", "section", "title", "summary", "caption", "body", "source")


def demo(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "watcher.cli", "demo", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def served_and_read(articles: list[Article]) -> ParsedFeed:
    """The demo feed of `articles` as watcher's parser reads it."""
    return parse_feed(
        article_feed(articles, "http://127.0.0.1:8080"),
        {"Content-Type": "application/rss+xml; charset=utf-8"},
        feed=FeedContext(name="examples", url="http://127.0.0.1:8080/feed.xml"),
        fetched_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    )


def alert_headings(stdout: str) -> list[str]:
    return [
        line for line in stdout.splitlines() if re.match(r"\[(LOW|MEDIUM|HIGH|CRITICAL)\] ", line)
    ]


def test_the_demo_polls_the_examples_into_sqlite_and_alerts_on_the_console() -> None:
    done = demo()

    assert done.returncode == 0, done.stderr
    headings = alert_headings(done.stdout)
    for name, rule in TOPICS.items():
        title = read_file(ROOT / "examples" / name).title
        assert any(title in heading for heading in headings), f"{rule}: no alert for {name}"
    for name in LOOK_ALIKES:
        assert read_file(ROOT / "examples" / name).title not in done.stdout
    ruleset = load_ruleset([ROOT / "rules"]).ruleset
    dry_run_matches = sum(len(match_article(ruleset, read_file(path))) for path in EXAMPLES)
    assert len(headings) == dry_run_matches
    assert (
        f"examples: {len(EXAMPLES)} entries, {len(EXAMPLES)} new, {len(headings)} alerts queued"
        in done.stderr
    )
    store = re.search(r"store (\S+watcher\.db) \(removed at exit\)", done.stderr)
    assert store is not None, done.stderr
    assert not Path(store[1]).parent.exists()


def test_a_bad_article_is_named_and_the_others_are_still_polled(tmp_path: Path) -> None:
    (tmp_path / "patrols.txt").write_text(
        (ROOT / "examples" / "2025-05-21-border-patrols-hatay.txt").read_text(encoding="utf-8"),
        encoding="utf-8",
    )
    (tmp_path / "notes.txt").write_text("# not an article\n", encoding="utf-8")

    done = demo(str(tmp_path))

    assert done.returncode == 2
    assert f"{tmp_path / 'notes.txt'}:1: expected ' date YYYY-MM-DD SECTION'" in done.stderr
    assert "demo: 1 article served" in done.stderr
    assert any("Border security" in heading for heading in alert_headings(done.stdout))


def test_without_rules_the_demo_stops_and_says_which_path_is_missing(tmp_path: Path) -> None:
    done = demo(str(ROOT / "examples"), "--rules", str(tmp_path / "nowhere"))

    assert done.returncode == 1
    assert f"{tmp_path / 'nowhere'}:0:0: no such rule file or directory" in done.stderr
    assert "demo: no usable rules" in done.stderr
    assert done.stdout == ""


def test_without_articles_the_demo_stops_before_serving(tmp_path: Path) -> None:
    done = demo(str(tmp_path))

    assert done.returncode == 2
    assert "demo: no readable articles to serve" in done.stderr


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: path.stem)
def test_the_served_feed_reads_back_as_the_saved_article(path: Path) -> None:
    """Writing an article as RSS is the README's field mapping run backwards: what watcher
    reads from the demo feed is what was saved, field for field."""
    saved = read_file(path)
    other = Article(date=dt.date(2025, 1, 2), title="Another story", body=[])

    parsed = served_and_read([other, saved])

    assert parsed.problems == []
    read_back = parsed.entries[1].article
    assert {f: getattr(read_back, f) for f in SEED_FIELDS} == {
        f: getattr(saved, f) for f in SEED_FIELDS
    }
    assert read_back.url is not None and read_back.url.startswith(
        "http://127.0.0.1:8080/articles/2-"
    )


def test_an_invalid_rule_is_reported_and_the_others_still_alert(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    for name in ("_lists.yaml", "border-security.yaml"):
        (rules / name).write_text((ROOT / "rules" / name).read_text(encoding="utf-8"), "utf-8")
    (rules / "broken.yaml").write_text("id: broken\nmatch: [\n", encoding="utf-8")

    done = demo("examples/2025-05-21-border-patrols-hatay.txt", "--rules", str(rules))

    assert done.returncode == 1
    assert f"{rules / 'broken.yaml'}:" in done.stderr
    assert [h.split(" — ")[0] for h in alert_headings(done.stdout)] == ["[MEDIUM] Border security"]


def test_text_that_looks_like_markup_reads_back_as_written() -> None:
    """Every text field of a feed is read as HTML, so the demo feed escapes its text twice."""
    saved = Article(
        date=dt.date(2025, 5, 20),
        section="R&D <LAB>",
        title="Why 3 < 4 & the <b> tag is not bold here",
        summary="AT&T and &amp; written out, <i>not</i> italic",
        caption="A sign reading <closed> (Photo: A&B) / Q&A Wire",
        body=[Block(text="Tags such as <p> and entities such as &eacute; stay text.")],
        source="Smith & Jones <wire>",
    )

    read_back = served_and_read([saved]).entries[0].article
    assert {f: getattr(read_back, f) for f in SEED_FIELDS} == {
        f: getattr(saved, f) for f in SEED_FIELDS
    }
