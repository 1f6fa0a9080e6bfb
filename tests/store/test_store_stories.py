"""Stories: the same story from several feeds is one story and alerts once per rule and
notifier."""

from __future__ import annotations

import datetime as dt
import random

from tests.store.builders import T0, count, entry, primed_feed
from watcher.store import Fingerprint, Store, clusterable_url, dedup_key

HOUR = dt.timedelta(hours=1)
TITLE = "Türkiye and Iraq agree on joint border security measures"
SUMMARY = "Interior ministers met in Ankara to coordinate patrols along the shared frontier."


def test_fingerprints_fold_text_like_the_matcher() -> None:
    plain = Fingerprint.of_text("Turkiye and Iraq agree on joint border security measures", "")
    curly = Fingerprint.of_text("TÜRKİYE and Iraq agree on joint border‑security measures", "")
    assert plain is not None and curly is not None
    assert plain.same_story(curly)


def test_near_identical_text_is_the_same_story_and_different_text_is_not() -> None:
    original = Fingerprint.of_text(TITLE, SUMMARY)
    edited = Fingerprint.of_text(TITLE + " (updated)", SUMMARY)
    other = Fingerprint.of_text(
        "Türkiye and Iraq agree on joint water sharing measures", "Talks in Baghdad went on."
    )
    assert original is not None and edited is not None and other is not None
    assert original.same_story(edited)
    assert not original.same_story(other)


def test_short_texts_do_not_cluster() -> None:
    assert Fingerprint.of_text("Live updates", "") is None


def test_near_identical_fingerprints_share_a_band_key() -> None:
    """The index finds a story at the similarity threshold all but about once in 5,000 (and
    practically always above it); unrelated texts rarely share a key."""
    rng = random.Random(20250520)
    vocabulary = [f"w{i}" for i in range(5000)]
    found = similar = unrelated_hits = 0
    for _ in range(3000):
        base = rng.sample(vocabulary, rng.randint(8, 60))
        edited = list(base)
        for _ in range(rng.randint(0, max(1, len(base) // 16))):
            edited[rng.randrange(len(edited))] = rng.choice(vocabulary)
        a, b = Fingerprint.of(base, []), Fingerprint.of(edited, [])
        other = Fingerprint.of(rng.sample(vocabulary, len(base)), [])
        assert a is not None and b is not None and other is not None
        if a.same_story(b):
            similar += 1
            found += bool(set(a.band_keys()) & set(b.band_keys()))
        unrelated_hits += bool(set(a.band_keys()) & set(other.band_keys()))
    assert similar > 1000
    assert found >= similar - 2
    assert unrelated_hits <= 3


def test_front_page_links_do_not_name_a_story() -> None:
    assert clusterable_url("https://www.trtworld.com/") is None
    assert clusterable_url("https://www.trtworld.com") is None
    assert clusterable_url(None) is None
    assert clusterable_url("https://aa.com.tr/en/turkiye/talks/123") == (
        "https://aa.com.tr/en/turkiye/talks/123"
    )
    assert clusterable_url("https://example.com/?p=123") == "https://example.com/?p=123"


def test_dedup_key_is_deterministic_and_distinguishes_its_parts() -> None:
    assert dedup_key("desk", "sanctions", 7) == dedup_key("desk", "sanctions", 7)
    keys = {
        dedup_key("desk", "sanctions", 7),
        dedup_key("email", "sanctions", 7),
        dedup_key("desk", "trade", 7),
        dedup_key("desk", "sanctions", 8),
    }
    assert len(keys) == 4
    assert len(dedup_key("desk", "sanctions", 7)) == 64


def test_same_canonical_url_in_two_feeds_is_one_story(store: Store) -> None:
    aa, trt = primed_feed(store, "aa"), primed_feed(store, "trt")
    url = "https://aa.com.tr/en/turkiye/border-deal/123"
    first = store.ingest(aa, [entry("guid:a1", "Border deal signed", url=url)], T0)
    second = store.ingest(trt, [entry("guid:t9", "A wholly different headline", url=url)], T0)
    assert first.new[0].new_story and not second.new[0].new_story
    assert second.new[0].story_id == first.new[0].story_id


def test_near_identical_title_in_two_feeds_within_48h_is_one_story(store: Store) -> None:
    aa, trt = primed_feed(store, "aa"), primed_feed(store, "trt")
    first = store.ingest(aa, [entry("guid:a1", TITLE, SUMMARY)], T0)
    later = T0 + dt.timedelta(hours=47)
    second = store.ingest(trt, [entry("guid:t1", TITLE.upper(), SUMMARY + " ")], later)
    assert second.new[0].story_id == first.new[0].story_id


def test_the_same_title_after_48h_is_a_new_story(store: Store) -> None:
    aa, trt = primed_feed(store, "aa"), primed_feed(store, "trt")
    first = store.ingest(aa, [entry("guid:a1", TITLE, SUMMARY)], T0)
    second = store.ingest(trt, [entry("guid:t1", TITLE, SUMMARY)], T0 + dt.timedelta(hours=49))
    assert second.new[0].new_story
    assert second.new[0].story_id != first.new[0].story_id


def test_different_stories_stay_apart(store: Store) -> None:
    aa = primed_feed(store, "aa")
    result = store.ingest(
        aa,
        [
            entry("guid:1", TITLE, SUMMARY),
            entry("guid:2", "Sanctions on shipping firms widened by the EU council", "Brussels."),
        ],
        T0,
    )
    assert len({new.story_id for new in result.new}) == 2


def test_a_story_from_two_feeds_alerts_once_per_rule_and_notifier(store: Store) -> None:
    aa, trt = primed_feed(store, "aa"), primed_feed(store, "trt")
    first = store.ingest(
        aa, [entry("guid:a1", TITLE, SUMMARY, notifiers=("desk", "email"), feed="aa")], T0
    )
    second = store.ingest(
        trt, [entry("guid:t1", TITLE, SUMMARY, notifiers=("desk", "email"), feed="trt")], T0 + HOUR
    )
    assert len(first.alerts) == 2
    assert second.alerts == []
    assert {(s.notifier, s.reason) for s in second.skipped} == {
        ("desk", "duplicate"),
        ("email", "duplicate"),
    }
    assert count(store, "alert") == 2
    other_rule = store.ingest(
        trt, [entry("guid:t2", TITLE, SUMMARY, notifiers=("desk",), rule_id="trade-customs")], T0
    )
    assert [a.rule_id for a in other_rule.alerts] == ["trade-customs"]


def test_story_sources_list_every_feed_that_carried_it(store: Store) -> None:
    aa, trt = primed_feed(store, "aa"), primed_feed(store, "trt")
    url = "https://aa.com.tr/en/turkiye/border-deal/123"
    first = store.ingest(aa, [entry("guid:a1", TITLE, url=url, feed="aa")], T0)
    store.ingest(trt, [entry("guid:t1", TITLE, url=url, feed="trt")], T0 + HOUR)
    sources = store.story_sources(first.new[0].story_id)
    assert [(s.feed, s.first_seen_at) for s in sources] == [("aa", T0), ("trt", T0 + HOUR)]
    assert sources[0].url == url and sources[0].title == TITLE


def test_a_story_listed_twice_in_one_poll_alerts_once_for_the_first_entry(store: Store) -> None:
    feed_id = primed_feed(store)
    url = "https://aa.com.tr/en/live/border-deal/123"
    result = store.ingest(
        feed_id,
        [
            entry("guid:first", TITLE, url=url, notifiers=("desk",)),
            entry("guid:update", TITLE + " (update)", url=url, notifiers=("desk",)),
        ],
        T0,
    )
    first, update = result.new
    assert first.story_id == update.story_id and first.new_story and not update.new_story
    [queued] = result.alerts
    assert queued.article_id == first.article_id
    assert [(s.entry_key, s.reason) for s in result.skipped] == [("guid:update", "duplicate")]
