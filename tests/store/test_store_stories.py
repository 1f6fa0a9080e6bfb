"""Stories: the same story from several feeds is one story and alerts once per rule and
notifier."""

from __future__ import annotations

import dataclasses
import datetime as dt
import pickle
import random

from tests.store.builders import T0, count, entry, primed_feed
from watcher.store import (
    Fingerprint,
    PolledEntry,
    Store,
    clusterable_url,
    dedup_key,
    story_keys,
)

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


def test_one_feeds_entries_sharing_a_link_are_stories_of_their_own(store: Store) -> None:
    # A podcast's episodes all link to the show's page: each episode alerts.
    show = primed_feed(store, "show")
    url = "https://pod.example/border-watch"
    first = store.ingest(
        show,
        [
            entry(
                "guid:ep1",
                "Episode 1: patrols on the eastern frontier",
                url=url,
                notifiers=("desk",),
            )
        ],
        T0,
    )
    second = store.ingest(
        show,
        [
            entry(
                "guid:ep2",
                "Episode 2: returns across the Syrian border",
                url=url,
                notifiers=("desk",),
            ),
            entry(
                "guid:ep3",
                "Episode 3: a new fence and who pays for it",
                url=url,
                notifiers=("desk",),
            ),
        ],
        T0 + HOUR,
    )
    stories = {new.story_id for new in [*first.new, *second.new]}
    assert len(stories) == 3
    assert len(second.alerts) == 2


def test_one_feed_repeating_a_story_under_a_new_guid_is_still_one_story(store: Store) -> None:
    wire = primed_feed(store, "wire")
    url = "https://wire.example/border-deal"
    first = store.ingest(wire, [entry("guid:1", TITLE, SUMMARY, url=url)], T0)
    again = store.ingest(wire, [entry("guid:1-repost", TITLE, SUMMARY, url=url)], T0 + HOUR)
    assert again.new[0].story_id == first.new[0].story_id


def test_a_link_one_feed_shares_among_entries_still_joins_another_feeds_story(
    store: Store,
) -> None:
    show, digest = primed_feed(store, "show"), primed_feed(store, "digest")
    url = "https://pod.example/border-watch"
    first = store.ingest(show, [entry("guid:ep1", "Episode 1: patrols", url=url)], T0)
    cited = store.ingest(digest, [entry("guid:d1", "Worth a listen", url=url)], T0 + HOUR)
    assert cited.new[0].story_id == first.new[0].story_id


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


def test_band_keys_stay_what_stored_stories_were_indexed_with() -> None:
    """Stories of the clustering window are found by the keys an earlier version stored: the
    hashing must never change its output."""
    fingerprint = Fingerprint.of(
        "turkiye and iraq agree on joint border security measures".split(),
        "interior ministers met in ankara".split(),
    )
    assert fingerprint is not None
    assert fingerprint.band_keys() == [
        -6968056968163767121, -864312443024275090, -7193610016137877560, -375724950523634827,
        5477831274382635151, 4335116095435523723, 4395614329684545438, -1841837845006868081,
        3656955103978964940, -9058416282919539882, 6962922567732600467, 2496448881423859319,
        -6806721963838818294, -3279470614828499684, 8479299175471205751, -3088392401341644704,
    ]  # fmt: skip


def test_story_keys_are_plain_data_for_a_worker_process() -> None:
    keys = story_keys(TITLE, SUMMARY)
    fingerprint = Fingerprint.of_text(TITLE, SUMMARY)
    assert fingerprint is not None
    assert keys.title_words[:2] == ("turkiye", "and")
    assert keys.band_keys == tuple(sorted(set(fingerprint.band_keys())))
    assert pickle.loads(pickle.dumps(keys)) == keys
    assert story_keys("Live updates", "").band_keys == ()


def _clustering_polls(round_: int) -> list[tuple[str, list[PolledEntry]]]:
    """Polls of three feeds that cluster every way: by URL across feeds (never inside one: a5),
    by text across feeds and within one poll, with short texts that never cluster. Each round
    has its own keys and URLs."""
    edited = TITLE.replace("joint", "new joint")

    def url(path: str) -> str:
        return f"https://aa.com.tr/en/{path}/{round_}"

    def one(key: str, title: str, summary: str = "", link: str | None = None) -> PolledEntry:
        return entry(f"r{round_}:{key}", title, summary, url=url(link) if link else None)

    return [
        ("aa", [
            one("a1", TITLE, SUMMARY, "border-deal"),
            one("a2", edited, SUMMARY),
            one("a3", "Live updates"),
            one("a4", "Sanctions on shipping firms widened by the EU council", "Brussels."),
            one("a5", "A wholly different headline", link="border-deal"),
        ]),
        ("trt", [
            one("t1", TITLE.upper(), SUMMARY + " "),
            one("t2", "Live updates"),
            one("t3", "Another headline entirely", link="sanctions"),
        ]),
        ("dha", [
            one("d1", "Sanctions on shipping firms widened by the EU council", "Brussels"),
            one("d2", "Something else again here today", link="sanctions"),
        ]),
    ]  # fmt: skip


def test_precomputed_story_keys_assign_the_same_stories(store: Store) -> None:
    """A round with the keys computed in the store and a later one (beyond the clustering window,
    with other URLs) passing `story_keys` computed ahead make the same stories."""
    feeds = {name: primed_feed(store, name) for name in ("aa", "trt", "dha")}
    later = T0 + dt.timedelta(days=30)
    computed = [
        (new.story_id, new.new_story)
        for name, entries in _clustering_polls(1)
        for new in store.ingest(feeds[name], entries, T0).new
    ]
    precomputed = [
        (new.story_id, new.new_story)
        for name, entries in _clustering_polls(2)
        for new in store.ingest(
            feeds[name],
            [
                dataclasses.replace(e, story_keys=story_keys(e.article.title, e.article.summary))
                for e in entries
            ],
            later,
        ).new
    ]
    first = computed[0][0]
    assert [(story_id - first, new) for story_id, new in computed] == [
        (0, True), (0, False), (1, True), (2, True), (3, True),  # aa
        (0, False), (4, True), (5, True),  # trt
        (2, False), (5, False),  # dha
    ]  # fmt: skip
    assert [(story_id - 6, new) for story_id, new in precomputed] == computed


def test_precomputed_story_keys_are_used_as_given(store: Store) -> None:
    aa, trt = primed_feed(store, "aa"), primed_feed(store, "trt")
    first = store.ingest(aa, [entry("guid:a1", TITLE, SUMMARY)], T0)
    no_bands = dataclasses.replace(story_keys(TITLE, SUMMARY), band_keys=())
    second = store.ingest(
        trt,
        [dataclasses.replace(entry("guid:t1", TITLE, SUMMARY), story_keys=no_bands)],
        T0 + HOUR,
    )
    assert second.new[0].new_story
    assert second.new[0].story_id != first.new[0].story_id
