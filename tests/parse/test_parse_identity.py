"""Entry keys, canonical links and story fingerprints."""

from __future__ import annotations

import pytest

from watcher.feeds.identity import (
    EntryIdentity,
    canonical_url,
    entry_key,
    entry_keys,
    fingerprint_similarity,
    title_fingerprint,
)


@pytest.mark.parametrize(
    ("url", "canonical"),
    [
        (
            "HTTPS://News.Example.ORG:443/World/Story?b=2&utm_source=rss&a=1#comments",
            "https://news.example.org/World/Story?a=1&b=2",
        ),
        (
            "https://www.bbc.co.uk/news/world-1?at_medium=RSS&at_campaign=KARANGA",
            "https://www.bbc.co.uk/news/world-1",
        ),
        (
            "https://www.aljazeera.com/news/2026/8/13/x?traffic_source=rss",
            "https://www.aljazeera.com/news/2026/8/13/x",
        ),
        ("http://example.org:8080", "http://example.org:8080/"),
        ("http://example.org/a?fbclid=1&gclid=2&id=", "http://example.org/a?id="),
        ("  tag:example.org,2025:1 ", "tag:example.org,2025:1"),
        ("not a url", "not a url"),
    ],
)
def test_canonical_url(url: str, canonical: str) -> None:
    assert canonical_url(url) == canonical


def item(guid: str | None, link: str | None, title: str = "T", summary: str = "") -> EntryIdentity:
    return EntryIdentity(guid=guid, link=link, title=title, summary=summary)


def test_key_prefers_the_guid() -> None:
    assert entry_key(item("abc-1", "https://example.org/a")) == "guid:abc-1"


def test_url_guid_keeps_its_key_when_the_publisher_bumps_a_revision_fragment() -> None:
    before = entry_keys([item("https://www.bbc.co.uk/news/articles/cn0n#0", None)])
    after = entry_keys([item("https://www.bbc.co.uk/news/articles/cn0n#1", None)])
    assert before == after == ["guid:https://www.bbc.co.uk/news/articles/cn0n"]


def test_url_guids_that_differ_only_by_fragment_within_a_feed_stay_apart() -> None:
    keys = entry_keys([item("https://e.org/live#a", None), item("https://e.org/live#b", None)])
    assert keys == ["guid:https://e.org/live#a", "guid:https://e.org/live#b"]


def test_key_falls_back_to_the_canonical_link() -> None:
    key = entry_key(item(None, "https://Example.org/a?utm_medium=x#top"))
    assert key == "link:https://example.org/a"


def test_key_falls_back_to_normalized_title_and_summary() -> None:
    first = entry_key(item(None, None, "Türkiye’s  BORDER", "Talks resume."))
    second = entry_key(item(None, None, "turkiye's border", "talks resume"))
    assert first == second
    assert first.startswith("text:")
    assert first != entry_key(item(None, None, "Turkiye's border", "Talks stall."))


def test_repeated_guid_inside_a_feed_is_told_apart_by_link() -> None:
    keys = entry_keys([item("same", "https://e.org/1"), item("same", "https://e.org/2")])
    assert keys == ["guid+link:same https://e.org/1", "guid+link:same https://e.org/2"]


def test_repeated_guid_without_links_is_told_apart_by_text() -> None:
    keys = entry_keys([item("same", None, "One"), item("same", None, "Two")])
    assert len(set(keys)) == 2


def test_items_without_guids_sharing_one_link_are_told_apart_by_text() -> None:
    # A podcast's episodes all linking to the show's page.
    show = "https://pod.example/show?utm_source=feed"
    keys = entry_keys(
        [
            item(None, show, "Episode 2"),
            item(None, show, "Episode 1"),
            item(None, "https://pod.example/x"),
        ]
    )
    assert keys[0].startswith("link+text:https://pod.example/show ")
    assert len(set(keys)) == 3
    assert keys[2] == "link:https://pod.example/x"


def test_items_sharing_both_guid_and_link_are_told_apart_by_text() -> None:
    keys = entry_keys(
        [item("same", "https://e.org/", "One"), item("same", "https://e.org/", "Two")]
    )
    assert keys[0].startswith("guid+text:same ")
    assert len(set(keys)) == 2


def test_items_sharing_a_long_link_are_told_apart_too() -> None:
    link = "https://e.org/" + "a" * 600
    keys = entry_keys([item(None, link, "One"), item(None, link, "Two")])
    assert len(set(keys)) == 2


def test_keys_do_not_depend_on_order() -> None:
    entries = [item("a", None), item(None, "https://e.org/b"), item(None, None, "C")]
    keys = entry_keys(entries)
    assert entry_keys(entries[::-1]) == keys[::-1]


def test_per_feed_rule_can_skip_churning_guids() -> None:
    entry = item("session-123", "https://e.org/story")
    assert entry_key(entry, by="link") == "link:https://e.org/story"
    assert entry_key(entry, by="text").startswith("text:")


def test_very_long_keys_are_hashed() -> None:
    key = entry_key(item("x" * 2000, None))
    assert key.startswith("sha256:") and len(key) < 100


def test_fingerprint_ignores_case_diacritics_punctuation_and_function_words() -> None:
    first = title_fingerprint("Türkiye and Syria discuss border security", "")
    second = title_fingerprint("TURKIYE, Syria discuss the border-security", "")
    assert first == second
    assert "and" not in first


def test_fingerprint_similarity() -> None:
    story = title_fingerprint("Ferry timetable changes for the summer", "Extra sailings in June")
    retold = title_fingerprint("Summer ferry timetable changes", "Extra sailings from June")
    other = title_fingerprint("Council votes on water plan", "")
    assert fingerprint_similarity(story, retold) > 0.6
    assert fingerprint_similarity(story, other) == 0.0
    assert fingerprint_similarity(frozenset(), story) == 0.0
