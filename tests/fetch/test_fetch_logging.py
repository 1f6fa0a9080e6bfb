"""No URL secret reaches the logs: noisy loggers stay quiet and our own lines are redacted."""

from __future__ import annotations

import logging

import pytest

from tests.support.httpserver import LoopbackServer, Reply
from watcher.feeds.fetch import NOISY_LOGGERS, Fetcher, quiet_noisy_loggers, redact_url

TOKEN = "k7Qx92LmZpR4tV8sWn3bYc6D"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            "https://reader:hunter2@feeds.example.org/private.xml",
            "https://***@feeds.example.org/private.xml",
        ),
        (
            "https://feeds.example.org/rss?api_key=abc&lang=en&sig=x1#top",
            "https://feeds.example.org/rss?api_key=***&lang=en&sig=***",
        ),
        (
            f"https://feeds.example.org/u/{TOKEN}/feed.xml?ref={TOKEN}",
            "https://feeds.example.org/u/***/feed.xml?ref=***",
        ),
        (
            "https://news.example.org/2025/05/20/border-patrols-doubled-1234567?page=2",
            "https://news.example.org/2025/05/20/border-patrols-doubled-1234567?page=2",
        ),
        ("not a url", "not a url"),
    ],
)
def test_redaction_hides_credentials_and_token_like_parts(url: str, shown: str) -> None:
    assert redact_url(url) == shown


async def test_a_fetch_logs_no_secret_at_any_level(
    server: LoopbackServer, caplog: pytest.LogCaptureFixture
) -> None:
    server.route("/private.xml", Reply(body=b"<rss/>"))
    secret_url = server.url(f"/private.xml?token={TOKEN}").replace("://", "://reader:pw1@")
    caplog.set_level(logging.DEBUG)

    async with Fetcher() as fetcher:
        result = await fetcher.fetch(secret_url)

    assert result.ok
    assert "private.xml?token=***" in caplog.text  # our own line is there, redacted
    assert TOKEN not in caplog.text and "pw1" not in caplog.text
    assert all(logging.getLogger(name).level == logging.WARNING for name in NOISY_LOGGERS)


def test_quieting_the_noisy_loggers_sets_them_to_warning() -> None:
    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG)

    quiet_noisy_loggers()

    assert [logging.getLogger(name).level for name in NOISY_LOGGERS] == [logging.WARNING] * 3
