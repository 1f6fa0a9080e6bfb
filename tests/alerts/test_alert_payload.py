"""What an alert quotes: each matched passage once, from the article as the feed gave it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from watcher.alerts.payload import build_payload
from watcher.article import Article
from watcher.dryrun import text_report
from watcher.feeds.parse import FeedContext, parse_feed
from watcher.matching import load_ruleset, match_article

ROOT = Path(__file__).resolve().parents[2]
RULESET = load_ruleset([ROOT / "rules"]).ruleset


def teaser_only_article(description_html: str) -> Article:
    """An item without content: its description is the summary and the body too."""
    document = f"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Wire</title><link>http://127.0.0.1/</link>
<item><title>Night shift on the ridge</title><link>http://127.0.0.1/a</link>
<pubDate>Mon, 30 Nov 2026 05:00:00 GMT</pubDate>
<description>{description_html}</description></item></channel></rss>""".encode()
    parsed = parse_feed(
        document,
        {"Content-Type": "application/rss+xml"},
        feed=FeedContext(name="wire", url="http://127.0.0.1/feed.xml"),
        fetched_at=dt.datetime(2026, 11, 30, 6, tzinfo=dt.UTC),
    )
    return parsed.entries[0].article


def border_match(article: Article):
    (match,) = [m for m in match_article(RULESET, article) if m.rule_id == "border-security"]
    return match


def test_a_teaser_repeated_as_the_body_is_quoted_once() -> None:
    article = teaser_only_article(
        "&lt;p&gt;Border guards stepped up patrols along the frontier.&lt;/p&gt;"
        "&lt;p&gt;Villagers said patrols now watch the border all night.&lt;/p&gt;"
    )
    assert article.body[0].text == article.summary

    payload = build_payload(article, border_match(article))

    passages = [(s.before, s.text, s.after) for s in payload.snippets]
    assert len(passages) == len(set(passages))
    assert {(s.field, s.block) for s in payload.snippets} == {("summary", None), ("body", 1)}
    guards = [s for s in payload.snippets if s.text == "Border guards"]
    assert [(s.field, s.term) for s in guards] == [("summary", '"border guard*"')]


def test_the_same_words_in_different_text_are_still_two_passages() -> None:
    article = Article(
        date=dt.date(2026, 11, 30),
        title="Border guards double patrols",
        summary="Border guards double patrols along the frontier, officials said.",
    )

    payload = build_payload(article, border_match(article))

    fields = {s.field for s in payload.snippets if s.text == "Border guards"}
    assert fields == {"title", "summary"}


def test_dry_run_lists_a_repeated_teaser_once_too() -> None:
    article = teaser_only_article("Border guards stepped up patrols along the frontier.")

    lines = text_report("wire", article, [border_match(article)])

    assert [line for line in lines if "body[" in line] == []
    assert sum("«Border guards»" in line for line in lines) == 1
