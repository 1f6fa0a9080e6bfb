"""Alert and digest wording per channel: content, escaping of article text, length fallbacks."""

from __future__ import annotations

import datetime as dt

import pytest
from apprise.common import NotifyFormat
from apprise.conversion import convert_between

from tests.alerts.conftest import make_payload
from watcher.alerts.compose import Style, compose_alert, compose_digest
from watcher.alerts.payload import Snippet

HTML = Style(kind="E-Mail", body_format="html")
MARKDOWN = Style(kind="JSON", body_format="markdown")
TEXT = Style(kind="console", body_format="text")
DISCORD = Style(kind="Discord", body_format="markdown", max_length=2000)
TELEGRAM = Style(kind="Telegram", body_format="markdown", max_length=4096, title_in_body=True)
IRC = Style(
    kind="IRC",
    body_format="text",
    max_length=380,
    max_lines=5,
    count_bytes=True,
    title_in_body=True,
)
HOSTILE = "<script>alert('x')</script> <img src=x onerror=alert(1)> [click](javascript:alert(1))"


def hostile_payload():
    return make_payload(
        title=f"Title {HOSTILE}",
        section=f"World {HOSTILE}",
        summary=f"Summary {HOSTILE} @everyone",
        sources=[f"Wire {HOSTILE}", "Daily Example"],
        snippets=[
            Snippet(
                field="body",
                term="border",
                text="border <b>guards</b>",
                before=f"before {HOSTILE} ",
                after=f" after {HOSTILE}",
            )
        ],
    )


def test_title_names_severity_rule_and_article(payload):
    message = compose_alert(payload, TEXT)

    assert message.title == "[HIGH] Border security — Patrols double along the northern frontier"


def test_title_is_one_line_even_when_the_article_title_is_not():
    message = compose_alert(make_payload(title="Patrols\r\ndouble\tagain\x07"), HTML)

    assert message.title == "[HIGH] Border security — Patrols double again"


def test_markdown_body_lists_facts_sources_link_and_words_in_context(payload):
    message = compose_alert(payload, MARKDOWN)

    assert message.body_format == "markdown"
    body = message.body
    assert "**Date:** 2025-05-20" in body
    assert "**Section:** World" in body
    assert "**Score:** 7.5" in body
    assert "**Sources:** Example Wire, Daily Example" in body
    assert "<https://news.example/world/patrols>" in body
    assert (
        "- …guards reported more **border crossings** near the river on Monday… "
        "_(border crossing)_" in body
    )
    assert "> Officials announced more patrols" in body


def test_text_body_marks_words_with_guillemets(payload):
    message = compose_alert(payload, TEXT)

    assert message.body_format == "text"
    assert "…guards reported more «border crossings» near the river on Monday…" in message.body
    assert "https://news.example/world/patrols" in message.body
    assert "**" not in message.body


def test_html_body_highlights_words_and_links_the_article(payload):
    message = compose_alert(payload, HTML)

    assert message.body_format == "html"
    assert "<mark><strong>border crossings</strong></mark>" in message.body
    assert (
        '<a href="https://news.example/world/patrols">https://news.example/world/patrols</a>'
        in message.body
    )
    assert "Example Wire, Daily Example" in message.body
    assert "«border crossings»" in message.text_body
    assert "<mark>" not in message.text_body


def test_html_escapes_hostile_article_text():
    message = compose_alert(hostile_payload(), HTML)

    assert "<script>" not in message.body
    assert "<img" not in message.body
    assert "<b>guards</b>" not in message.body
    assert "&lt;script&gt;" in message.body
    assert "<mark><strong>border &lt;b&gt;guards&lt;/b&gt;</strong></mark>" in message.body


def test_markdown_escapes_hostile_article_text_so_apprise_renders_no_markup():
    message = compose_alert(hostile_payload(), MARKDOWN)

    rendered = convert_between(NotifyFormat.MARKDOWN, NotifyFormat.HTML, message.body)
    assert "<script>" not in rendered
    assert "<img" not in rendered
    assert 'href="javascript' not in rendered
    assert "&lt;script&gt;" in rendered
    assert "@everyone" not in message.body


def test_a_title_printed_inside_the_body_is_escaped_too():
    message = compose_alert(hostile_payload(), TELEGRAM)

    rendered = convert_between(NotifyFormat.MARKDOWN, NotifyFormat.HTML, "# " + message.title)
    assert "<script>" not in rendered


@pytest.mark.parametrize("url", ["javascript:alert(1)", "data:text/html,<b>x</b>", "ftp://x/y"])
def test_only_web_links_are_linked(url):
    for style in (HTML, MARKDOWN, TEXT):
        message = compose_alert(make_payload(url=url), style)

        assert url not in message.body
        assert "href" not in message.body


def test_link_characters_that_would_break_markup_are_encoded():
    message = compose_alert(make_payload(url='https://x.example/a?q=<b>"x"'), HTML)

    assert 'href="https://x.example/a?q=%3Cb%3E%22x%22"' in message.body


def test_story_from_one_source_says_source():
    message = compose_alert(make_payload(sources=["Only Wire"]), MARKDOWN)

    assert "**Source:** Only Wire" in message.body


def long_payload(snippets: int = 12):
    return make_payload(
        summary="A long summary. " * 40,
        snippets=[
            Snippet(
                field="body",
                block=i,
                term="border",
                text="border",
                before="…" + "words before the match " * 3,
                after=" and words after the match" * 3 + "…",
            )
            for i in range(snippets)
        ],
    )


def test_full_message_when_it_fits():
    message = compose_alert(long_payload(3), DISCORD)

    assert "A long summary." in message.body
    assert message.body.count("**border**") == 3


def test_too_long_for_discord_keeps_the_first_snippets_only():
    message = compose_alert(long_payload(30), DISCORD)

    assert len(message.body) <= 2000
    assert "A long summary." not in message.body
    assert 1 <= message.body.count("**border**") < 30
    assert "<https://news.example/world/patrols>" in message.body


def test_irc_gets_a_few_short_lines_within_its_byte_budget():
    message = compose_alert(long_payload(), IRC)

    lines = [message.title, *message.body.splitlines()]
    assert len(lines) <= 5
    assert sum(len(line.encode()) + 2 for line in lines) <= 380 + 2
    assert "https://news.example/world/patrols" in message.body


def test_irc_budget_counts_bytes_of_non_ascii_text():
    payload = make_payload(title="Пограничники " * 8, section="Мир")

    message = compose_alert(payload, IRC)

    assert len(message.title.encode()) + 2 + len(message.body.encode()) <= 380


def test_an_enormous_title_falls_back_to_title_and_link_cut_to_fit():
    message = compose_alert(make_payload(title="Very long headline " * 40), IRC)

    assert message.body == "https://news.example/world/patrols"
    assert message.title.endswith("…")
    assert len(message.title.encode()) + 2 + len(message.body.encode()) <= 380


def test_email_is_never_shortened():
    message = compose_alert(long_payload(200), HTML)

    assert message.body.count("<mark>") == 200


def digest_payloads():
    def at(hour: int) -> dt.datetime:
        return dt.datetime(2025, 5, 20, hour, tzinfo=dt.UTC)

    return [
        make_payload(title="Older border story", published_at=at(6)),
        make_payload(
            rule_id="ports",
            rule_title="Port closures",
            severity="critical",
            title="Harbour shut",
            published_at=at(7),
        ),
        make_payload(title="Newest border story", published_at=at(9)),
        make_payload(
            rule_id="weather",
            rule_title="Weather",
            severity="low",
            title="Light rain",
            published_at=at(8),
        ),
        make_payload(title="Middle border story", published_at=at(8)),
    ]


def test_digest_groups_by_rule_most_severe_first_and_newest_first_inside():
    message = compose_digest("desk", digest_payloads(), MARKDOWN, "08:00–09:00")

    assert message.title == "[CRITICAL] watcher digest for desk — 5 alerts, 08:00–09:00"
    order = [
        "Port closures — 1 alert",
        "Border security — 3 alerts",
        "Newest border story",
        "Middle border story",
        "Older border story",
        "Weather — 1 alert",
    ]
    positions = [message.body.index(text) for text in order]
    assert positions == sorted(positions)
    assert message.body.count("Border security") == 1


def test_digest_html_has_one_section_per_rule():
    message = compose_digest("desk", digest_payloads(), HTML, "today")

    assert message.body.count("<h3>") == 3
    assert message.body.count("<mark>") == 10


def test_digest_for_irc_lists_what_fits_and_counts_the_rest():
    payloads = digest_payloads() * 4

    message = compose_digest("desk", payloads, IRC, "today")

    lines = [message.title, *message.body.splitlines()]
    assert len(lines) <= 5
    assert len("\n".join(lines).encode()) <= 380
    assert lines[1].startswith("- Port closures: Harbour shut")
    assert lines[-1].startswith("…and ")


def test_empty_digest_is_an_error():
    with pytest.raises(ValueError, match="digest for notifier 'desk' has no alerts"):
        compose_digest("desk", [], TEXT, "today")
