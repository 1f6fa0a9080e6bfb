"""Dates as the publisher wrote them, and the relative age line."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from watcher.feeds.parse import FeedContext, ParsedEntry, parse_date, parse_feed, render_age


def offset(hours: float) -> dt.timezone:
    return dt.timezone(dt.timedelta(hours=hours))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Wed, 01 May 2024 10:00:00 +0200", dt.datetime(2024, 5, 1, 10, tzinfo=offset(2))),
        ("Wed, 01 May 2024 10:00:00 GMT", dt.datetime(2024, 5, 1, 10, tzinfo=offset(0))),
        ("Tue, 10 Jun 2003 04:00:00 PDT", dt.datetime(2003, 6, 10, 4, tzinfo=offset(-7))),
        # Abbreviations feedparser reads as UTC.
        ("Wed, 1 May 2024 10:00:00 CEST", dt.datetime(2024, 5, 1, 10, tzinfo=offset(2))),
        ("Wed, 1 May 2024 10:00:00 BST", dt.datetime(2024, 5, 1, 10, tzinfo=offset(1))),
        ("Tue, 20 May 2025 09:00:00 TRT", dt.datetime(2025, 5, 20, 9, tzinfo=offset(3))),
        # No zone at all: read as UTC (feedparser gives up).
        ("Wed, 01 May 2024 10:00:00", dt.datetime(2024, 5, 1, 10, tzinfo=offset(0))),
        ("Wednesday, 01-May-24 10:00:00 GMT", dt.datetime(2024, 5, 1, 10, tzinfo=offset(0))),
        # Italian day and month names that feedparser cannot read.
        ("mer, 16 nov 2022 00:38:15 +0100", dt.datetime(2022, 11, 16, 0, 38, 15, tzinfo=offset(1))),
        # Month names in other languages (Portuguese, French, German, Turkish, Spanish).
        ("Seg, 24 Set 2018 19:22:00 -0300", dt.datetime(2018, 9, 24, 19, 22, tzinfo=offset(-3))),
        ("lun., 12 févr. 2024 08:00:00 +0100", dt.datetime(2024, 2, 12, 8, tzinfo=offset(1))),
        ("Di, 03 Okt 2023 10:00:00 +0200", dt.datetime(2023, 10, 3, 10, tzinfo=offset(2))),
        ("Sal, 03 Ekim 2023 10:00:00 +0300", dt.datetime(2023, 10, 3, 10, tzinfo=offset(3))),
        ("Sáb, 01 Dic 2018 10:00 -0300", dt.datetime(2018, 12, 1, 10, tzinfo=offset(-3))),
        # A day without a time starts at midnight, in any of those languages.
        ("3 Oct 2023", dt.datetime(2023, 10, 3, tzinfo=offset(0))),
        ("Seg, 24 Set 2018", dt.datetime(2018, 9, 24, tzinfo=offset(0))),
        ("12 févr. 2024", dt.datetime(2024, 2, 12, tzinfo=offset(0))),
        ("3 Ekim 2023", dt.datetime(2023, 10, 3, tzinfo=offset(0))),
        (
            "2024-05-01T10:00:00.123456+05:30",
            dt.datetime(2024, 5, 1, 10, 0, 0, 123456, tzinfo=offset(5.5)),
        ),
        ("2024-05-01T10:00:00Z", dt.datetime(2024, 5, 1, 10, tzinfo=offset(0))),
        ("2018-09-18 14:38:10", dt.datetime(2018, 9, 18, 14, 38, 10, tzinfo=offset(0))),
        ("2024-05-01", dt.datetime(2024, 5, 1, tzinfo=offset(0))),
        # Slashes, which feedparser misreads (2025/12/1 as 1 November).
        ("2025/12/1 09:05:00", dt.datetime(2025, 12, 1, 9, 5, tzinfo=offset(0))),
        ("2016/06/29 15:07:41 +0200", dt.datetime(2016, 6, 29, 15, 7, 41, tzinfo=offset(2))),
    ],
)
def test_dates_keep_the_publishers_offset(raw: str, expected: dt.datetime) -> None:
    parsed = parse_date(raw)
    assert parsed == expected
    assert parsed is not None and parsed.utcoffset() == expected.utcoffset()


@pytest.mark.parametrize(
    "raw",
    [
        "2024-13-45T99:00:00Z",
        "2024/13/45",
        "Wed, 45 May 2024 10:00:00 GMT",
        "31 Feb 2023",
        "0000-00-00",
        "soon",
    ],
)
def test_impossible_or_unreadable_dates_are_rejected_not_rolled_over(raw: str) -> None:
    assert parse_date(raw) is None


def test_feedparser_instant_is_used_only_for_shapes_we_do_not_read() -> None:
    other = dt.datetime(2006, 9, 15, 12, 19, 53, tzinfo=dt.UTC)
    assert parse_date("Fri, 2006/09/15 08:19:53 EDT", other) == other  # Perforce's shape
    assert parse_date("2024-13-45T99:00:00Z", other) is None


NOW = dt.datetime(2025, 5, 20, 12, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("before", "age"),
    [
        (dt.timedelta(seconds=20), "just now"),
        (dt.timedelta(minutes=-5), "just now"),
        (dt.timedelta(minutes=1, seconds=30), "1 minute ago"),
        (dt.timedelta(minutes=3), "3 minutes ago"),
        (dt.timedelta(hours=1), "1 hour ago"),
        (dt.timedelta(hours=18, minutes=59), "18 hours ago"),
        (dt.timedelta(days=2, hours=3), "2 days ago"),
        (dt.timedelta(days=45), "1 month ago"),
        (dt.timedelta(days=400), "1 year ago"),
        (dt.timedelta(days=800), "2 years ago"),
    ],
)
def test_render_age(before: dt.timedelta, age: str) -> None:
    assert render_age(NOW - before, NOW) == age


def test_render_age_compares_instants_across_offsets() -> None:
    published = dt.datetime(2025, 5, 20, 14, 0, tzinfo=offset(3))  # 11:00 UTC
    assert render_age(published, NOW) == "1 hour ago"


def one_item_parsed(
    pub_date: str, fetched: dt.datetime, timezone: str | None = None
) -> ParsedEntry:
    """The one entry of a feed whose item is dated `pub_date`, parsed at `fetched`."""
    body = (
        '<rss version="2.0"><channel><title>Port news</title><item><title>Ferry strike ends'
        f"</title><guid>a1</guid><pubDate>{pub_date}</pubDate></item></channel></rss>"
    ).encode()
    context = FeedContext(name="port", url="https://port.example/rss", timezone=timezone)
    [entry] = parse_feed(body, {}, feed=context, fetched_at=fetched).entries
    return entry


def test_an_item_dated_with_slashes_keeps_its_day() -> None:
    entry = one_item_parsed("2025/12/1 09:05:00", dt.datetime(2025, 12, 1, 10, 0, tzinfo=dt.UTC))
    assert entry.article.date == dt.date(2025, 12, 1)
    assert entry.article.age == "55 minutes ago"
    assert not entry.date_fallback


@pytest.mark.parametrize(
    ("written", "expected_utc"),
    [
        ("Tue, 18 Nov 2025 14:38:10", dt.datetime(2025, 11, 18, 6, 38, 10, tzinfo=dt.UTC)),
        ("2025-11-18 14:38:10", dt.datetime(2025, 11, 18, 6, 38, 10, tzinfo=dt.UTC)),
        # A zone written in the date still wins over the configured one.
        ("Tue, 18 Nov 2025 14:38:10 +0000", dt.datetime(2025, 11, 18, 14, 38, 10, tzinfo=dt.UTC)),
    ],
)
def test_dates_without_a_zone_are_read_in_the_feeds_configured_zone(
    written: str, expected_utc: dt.datetime
) -> None:
    fetched = dt.datetime(2025, 11, 18, 15, 0, tzinfo=dt.UTC)
    entry = one_item_parsed(written, fetched, timezone="Asia/Shanghai")
    assert entry.article.published_at == expected_utc
    assert not entry.date_fallback


def test_without_a_configured_zone_local_time_ahead_of_utc_is_a_future_date() -> None:
    fetched = dt.datetime(2025, 11, 18, 7, 0, tzinfo=dt.UTC)
    assert one_item_parsed("2025-11-18 14:38:10", fetched).date_fallback  # 7 h ahead as UTC
    entry = one_item_parsed("2025-11-18 14:38:10", fetched, timezone="Asia/Shanghai")
    assert (entry.article.age, entry.date_fallback) == ("21 minutes ago", False)


def test_a_day_without_a_time_starts_in_the_feeds_configured_zone() -> None:
    fetched = dt.datetime(2023, 10, 3, 12, 0, tzinfo=dt.UTC)
    entry = one_item_parsed("3 Ekim 2023", fetched, timezone="Europe/Istanbul")
    assert entry.article.published_at == dt.datetime(2023, 10, 2, 21, 0, tzinfo=dt.UTC)
    assert (entry.article.date, entry.date_fallback) == (dt.date(2023, 10, 3), False)


def test_a_configured_zone_follows_daylight_saving_time() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    assert parse_date("2025-01-15 12:00", local=berlin).utcoffset() == dt.timedelta(hours=1)
    assert parse_date("2025-07-15 12:00", local=berlin).utcoffset() == dt.timedelta(hours=2)
