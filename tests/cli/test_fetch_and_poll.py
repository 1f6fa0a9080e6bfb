"""`watcher fetch URL` and `watcher poll` against a real loopback feed server (issue 3 §5)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.support.httpserver import LoopbackServer, Reply, SeenRequest
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


def write_config(tmp_path: Path, rest: str) -> Path:
    """A config with a SQLite store in `tmp_path`, the shipped rules, and alerts for the newest
    10 entries of a feed's first poll, then `rest`."""
    config = tmp_path / "watcher.toml"
    config.write_text(
        f'[store]\nurl = "sqlite:///{tmp_path / "state.db"}"\n'
        f'[rules]\npaths = ["{ROOT / "rules"}"]\n[poll]\nfirst_poll_alerts = 10\n{rest}',
        encoding="utf-8",
    )
    return config


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


def test_fetch_reads_dates_without_a_zone_in_the_given_time_zone(server: LoopbackServer) -> None:
    dated = "<guid>wire-2</guid><pubDate>2025-05-20 14:00</pubDate>"  # Beijing time
    beijing = FEED.replace("<guid>wire-2</guid>", dated).encode()
    rss_type = {"Content-Type": "application/rss+xml"}
    server.route("/beijing.xml", Reply(headers=rss_type, body=beijing))
    url = server.url("/beijing.xml")
    result = CliRunner().invoke(app, ["fetch", "-f", "json", "--timezone", "Asia/Shanghai", url])
    assert result.exit_code == 0, result.output
    second = json.loads(result.stdout.splitlines()[1])
    assert second["published_at"].startswith("2025-05-20T06:00:00")
    wrong = CliRunner().invoke(app, ["fetch", "--timezone", "Beijing", url])
    assert wrong.exit_code == 2
    assert wrong.stderr.strip() == (
        "--timezone: expected an IANA time zone such as 'Asia/Shanghai', got 'Beijing'"
    )


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


def test_fetch_of_a_home_page_names_the_feed_urls_it_links_to(server: LoopbackServer) -> None:
    page = b"<html><head><link rel='alternate' type='application/rss+xml' href='/feed.xml'>"
    server.route("/", Reply(headers={"Content-Type": "text/html"}, body=page + b"</head></html>"))
    url = server.url("/")

    result = CliRunner().invoke(app, ["fetch", url])

    assert result.exit_code == 1
    assert result.stderr.strip() == (
        f"{url}: an HTML page, not a feed (the page names its feeds: {server.url('/feed.xml')})"
    )


def test_fetch_then_dry_run_through_a_pipe(server: LoopbackServer) -> None:
    fetched = CliRunner().invoke(app, ["fetch", server.url("/feed.xml")])
    result = CliRunner().invoke(
        app, ["dry-run", "-r", str(ROOT / "rules"), "-f", "json", "-"], input=fetched.stdout
    )
    assert result.exit_code == 0
    rules = {json.loads(line)["rule"] for line in result.stdout.splitlines()}
    assert {"refugee-returns", "border-security"} <= rules


def test_poll_stores_matches_and_remembers_entries(server: LoopbackServer, tmp_path: Path) -> None:
    config = write_config(
        tmp_path,
        f"""
[[feeds]]
name = "wire"
url = "{server.url("/feed.xml")}"
""",
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


def _members_only(server: LoopbackServer) -> str:
    """A feed that answers only a client with the right token and a browser's User-Agent."""

    def reply(request: SeenRequest) -> Reply:
        if request.header("authorization") != "Bearer t0k3n":
            return Reply(status=401)
        if not (request.header("user-agent") or "").startswith("Mozilla/"):
            return Reply(status=403)
        return Reply(headers={"Content-Type": "application/rss+xml"}, body=FEED.encode())

    server.route("/members.xml", reply)
    return server.url("/members.xml")


def test_fetch_sends_the_given_headers_with_secrets_read(server: LoopbackServer) -> None:
    url = _members_only(server)
    refused = CliRunner().invoke(app, ["fetch", url])
    assert refused.exit_code == 1
    assert refused.stderr.startswith(f"{url}: HTTP 401 Unauthorized (the server wants credentials")

    result = CliRunner().invoke(
        app,
        [
            "fetch",
            "-H",
            "Authorization: Bearer ${FEED_TOKEN}",
            "--header",
            "User-Agent: Mozilla/5.0",
            url,
        ],
        env={"FEED_TOKEN": "t0k3n"},
    )
    assert result.exit_code == 0, result.output
    assert "Ankara and Damascus discuss refugee returns" in result.stdout


def test_fetch_refuses_a_malformed_header_before_fetching(server: LoopbackServer) -> None:
    url = _members_only(server)
    result = CliRunner().invoke(
        app, ["fetch", "-H", "Authorization Bearer x", "-H", "Host: a.example", url]
    )
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "--header: expected 'Name: value' (no ':' found)",
        "--header: 'Authorization Bearer x' is not an HTTP header name (letters, digits and "
        "!#$%&'*+-.^_`|~ only)",
        "--header: 'Host' cannot be set: it follows from the feed URL",
    ]
    assert server.requests_to("/members.xml") == []


def test_poll_sends_each_feeds_headers_and_a_missing_secret_fails_that_feed_alone(
    server: LoopbackServer, tmp_path: Path
) -> None:
    url = _members_only(server)
    credentials = tmp_path / "credentials"
    credentials.mkdir()
    (credentials / "FEED_TOKEN").write_text("t0k3n\n", encoding="utf-8")
    config = write_config(
        tmp_path,
        f"""
[[feeds]]
name = "members"
url = "{url}"
headers = {{ Authorization = "Bearer ${{FEED_TOKEN}}", "User-Agent" = "Mozilla/5.0" }}
[[feeds]]
name = "other-members"
url = "{url}?b"
headers = {{ Authorization = "Bearer ${{OTHER_TOKEN}}" }}
""",
    )
    env = {"CREDENTIALS_DIRECTORY": str(credentials)}

    checked = CliRunner().invoke(app, ["check", "--config", str(config)], env=env)
    polled = CliRunner().invoke(app, ["poll", "--config", str(config)], env=env)

    missing = (
        "headers: secret ${OTHER_TOKEN} is neither a credential in $CREDENTIALS_DIRECTORY nor "
        "an environment variable"
    )
    assert checked.exit_code == 1
    assert f"{config}: feeds[2].{missing} (feed 'other-members')" in checked.stdout
    assert "t0k3n" not in checked.output
    assert f"other-members: {missing}" in polled.stderr
    assert "2 feeds polled, 1 failed, 2 new entries" in polled.stderr
    assert [r.target for r in server.requests_to("/members.xml")] == ["/members.xml"]


def test_a_feed_moved_to_another_server_is_not_sent_its_credentials_there(
    server: LoopbackServer, tmp_path: Path
) -> None:
    with LoopbackServer() as elsewhere:
        elsewhere.route(
            "/feed.xml", Reply(headers={"Content-Type": "application/rss+xml"}, body=FEED.encode())
        )
        server.route("/old.xml", Reply.redirect(elsewhere.url("/feed.xml"), status=301))
        config = write_config(
            tmp_path,
            f"""
[[feeds]]
name = "wire"
url = "{server.url("/old.xml")}"
headers = {{ Cookie = "member=1", "User-Agent" = "Mozilla/5.0" }}
""",
        )
        for _ in range(2):
            result = CliRunner().invoke(app, ["poll", "--config", str(config)])
            assert "1 feeds polled, 0 failed" in result.stderr, result.output

        [asked_first] = server.requests_to("/old.xml")
        redirected, moved = elsewhere.requests_to("/feed.xml")
    assert asked_first.header("cookie") == "member=1"
    assert [r.header("cookie") for r in (redirected, moved)] == [None, None]
    assert [r.header("user-agent") for r in (redirected, moved)] == ["Mozilla/5.0"] * 2


@pytest.mark.parametrize("command", [["poll"], ["run", "--once"]])
def test_a_poll_on_demand_honours_a_pause_its_server_asked_for(
    server: LoopbackServer, tmp_path: Path, command: list[str]
) -> None:
    busy = {"Retry-After": "120", "Content-Type": "text/plain"}
    server.route("/busy.xml", Reply(status=429, headers=busy, body=b"slow down"))
    server.route("/broken.xml", Reply(status=500, body=b"oops"))
    config = write_config(
        tmp_path,
        f"""
[[feeds]]
name = "busy"
url = "{server.url("/busy.xml")}"

[[feeds]]
name = "broken"
url = "{server.url("/broken.xml")}"

[[feeds]]
name = "wire"
url = "{server.url("/feed.xml")}"
""",
    )
    first = CliRunner().invoke(app, [*command, "--config", str(config)])
    assert len(server.requests_to("/busy.xml")) == 1

    again = CliRunner().invoke(app, [*command, "--config", str(config)])

    assert len(server.requests_to("/busy.xml")) == 1, "asked again during its pause"
    assert len(server.requests_to("/broken.xml")) == 2  # an error without a pause: polled
    assert len(server.requests_to("/feed.xml")) == 2
    assert "busy: not polled: the server asked for a pause (429 Too Many Requests) until " in (
        again.stderr
    )
    if command == ["poll"]:
        assert "3 feeds polled, 1 failed, 1 paused by their servers, 2 new entries" in first.stderr
        assert "2 feeds polled, 1 failed, 1 paused by their servers, 0 new entries" in again.stderr
