"""`watcher fetch URL` and `watcher poll` against a real loopback feed server (issue 3 §5)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.support.httpserver import LoopbackServer, Reply
from watcher.cli import app
from watcher.seedtext import read_articles

ROOT = Path(__file__).resolve().parents[2]

FEED = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/"
     xmlns:content="http://purl.org/rss/1.0/modules/content/">
<channel><title>Loopback Wire</title><link>http://127.0.0.1/</link><description>t</description>
<item><title>Ankara and Damascus discuss refugee returns</title>
<link>/news/returns</link><guid isPermaLink="false">wire-1</guid>
<pubDate>Tue, 20 May 2025 09:00:00 +0300</pubDate><category>Türkiye</category>
<description>Officials discussed the voluntary return of Syrian refugees.</description>
<content:encoded><![CDATA[<p>Officials discussed the voluntary return of Syrian refugees.</p>
<h2>Border talks</h2><p>Soldiers stepped up patrols along the frontier to stop smugglers.</p>]]>
</content:encoded>
<media:content url="http://127.0.0.1/img.jpg"><media:description>Families wait at a camp
</media:description><media:credit>AA</media:credit></media:content>
</item>
<item><title>Striker returns for the derby</title><link>/sport/1</link><guid>wire-2</guid>
<category>Sport</category><description>The striker returns to the squad.</description></item>
</channel></rss>
"""


@pytest.fixture
def server():
    with LoopbackServer() as running:
        running.route(
            "/feed.xml", Reply(headers={"Content-Type": "application/rss+xml"}, body=FEED.encode())
        )
        running.route(
            "/page.html",
            Reply(headers={"Content-Type": "text/html"}, body=b"<html><body>Hi</body></html>"),
        )
        running.route("/missing", Reply(status=404))
        yield running


def test_fetch_prints_seed_text(server: LoopbackServer) -> None:
    result = CliRunner().invoke(app, ["fetch", server.url("/feed.xml")])
    assert result.exit_code == 0, result.output
    articles = list(read_articles(io.BytesIO(result.stdout.encode())))
    first = articles[0]
    assert first.title == "Ankara and Damascus discuss refugee returns"
    assert first.date.isoformat() == "2025-05-20"
    assert first.section in {"TÜRKİYE", "TÜRKIYE"}
    assert first.caption == "Families wait at a camp / AA"
    assert [b.kind for b in first.body] == ["paragraph", "subheading", "paragraph"]
    assert first.source == "Loopback Wire"
    assert len(articles) == 2


def test_fetch_json_lines_have_the_design_field_names(server: LoopbackServer) -> None:
    result = CliRunner().invoke(app, ["fetch", "--format", "json", server.url("/feed.xml")])
    assert result.exit_code == 0
    first = json.loads(result.stdout.splitlines()[0])
    assert set(first) >= {
        "date",
        "section",
        "title",
        "summary",
        "caption",
        "age",
        "body",
        "source",
        "url",
        "guid",
        "feed",
        "language",
        "published_at",
        "fetched_at",
    }
    assert first["url"] == server.url("/news/returns")
    assert first["guid"] == "wire-1"
    assert first["body"][1] == {"kind": "subheading", "text": "Border talks"}
    assert first["published_at"].startswith("2025-05-20T06:00:00")


@pytest.mark.parametrize(
    ("path", "reason"),
    [("/missing", "HTTP 404"), ("/page.html", "not a feed")],
)
def test_fetch_failure_is_one_line_naming_the_url(
    server: LoopbackServer, path: str, reason: str
) -> None:
    url = server.url(path)
    result = CliRunner().invoke(app, ["fetch", url])
    assert result.exit_code == 1
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"{url}: ") and reason in line


def test_fetch_then_dry_run_through_a_pipe(server: LoopbackServer) -> None:
    fetched = CliRunner().invoke(app, ["fetch", server.url("/feed.xml")])
    result = CliRunner().invoke(
        app, ["dry-run", "-r", str(ROOT / "rules"), "-f", "json", "-"], input=fetched.stdout
    )
    assert result.exit_code == 0
    rules = {json.loads(line)["rule"] for line in result.stdout.splitlines()}
    assert {"refugee-returns", "border-security"} <= rules


def test_poll_stores_matches_and_remembers_entries(server: LoopbackServer, tmp_path: Path) -> None:
    config = tmp_path / "watcher.toml"
    config.write_text(
        f"""
[store]
url = "sqlite:///{tmp_path / "state.db"}"
[rules]
paths = ["{ROOT / "rules"}"]
[poll]
first_poll_alerts = 10
[[feeds]]
name = "wire"
url = "{server.url("/feed.xml")}"
""",
        encoding="utf-8",
    )
    first = CliRunner().invoke(app, ["poll", "--config", str(config)])
    assert first.exit_code == 0, first.output
    assert "refugee-returns" in first.stdout
    assert "1 feeds polled, 0 failed, 2 new entries" in first.stderr
    again = CliRunner().invoke(app, ["poll", "--config", str(config)])
    assert "0 new entries" in again.stderr
    status = CliRunner().invoke(app, ["status", "--config", str(config), "--format", "json"])
    data = json.loads(status.stdout)
    assert data["feeds"][0]["name"] == "wire" and data["feeds"][0]["last_status"] == 200
    assert data["outbox"]["pending"] >= 2
