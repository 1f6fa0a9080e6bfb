"""Deterministic, realistic RSS 2.0 news feeds for the benchmarks.

Each feed is a channel of 30 items (about 60 KB): title, link, a non-permalink guid, an RFC 822
date, dc:creator, two or three categories, a one-paragraph description, a content:encoded
body of paragraphs and a subheading, and a Media RSS image (media:content with media:title,
media:description and media:credit, plus a media:thumbnail). Text is drawn from a fixed pool of
generated sentences; about one item in six carries a sentence that one of the shipped rules in
`rules/` matches, so a full cycle matches, stores and queues alerts as a live one would.

`feed_xml(feed, generation)` is a pure function of its arguments: the server and the in-process
reference build exactly the same bytes. A new `generation` gives the feed 30 entries it has
never listed before (new guids, links, titles and dates).
"""

from __future__ import annotations

import datetime as dt
import functools
import random
from email.utils import format_datetime
from html import escape

ENTRIES_PER_FEED = 30
SECTIONS = ("World", "Middle East", "Türkiye", "Business", "Politics", "Europe", "Sport", "Africa")
CREATORS = ("Aylin Demir", "Mark Evans", "Leyla Hassan", "Jonas Berg", "Daily Sabah Staff")
# Sentences a shipped rule matches (refugee returns, border security, sanctions, airstrikes…).
HOOKS = (
    "Officials said thousands of Syrian refugees had returned home from camps near the border.",
    "The ministers agreed to tighten border security after a new infiltration attempt.",
    "Brussels imposed new sanctions on three shipping companies accused of breaking the embargo.",
    "Warplanes carried out airstrikes on militant positions in the north overnight.",
    "Soldiers stepped up patrols along the frontier to stop fuel smugglers.",
    "The agency is preparing the voluntary return of refugees from Lebanon.",
    "Washington eased sanctions to let banks process humanitarian payments.",
    "The two delegations held talks in Ankara on trade and customs cooperation.",
)
WORDS = """
the of and to a in that is was he for it with as his on be at by this had not are but from or
have an they which one were her all she there would their we him been has when who will more no
if out so said what up its about into than them can only other new some could time these two may
then do first any now such like our over even most made after also did many before must through
back years where much way well down should because each just those people how too little state
good very make world still own see men government officials economy market energy pipeline
exports inflation election parliament court judge protest agreement tourism festival museum
stadium league coach season
harvest wildfire drought rainfall province capital region city council mayor company shares
investors bank currency budget reform schools hospital water roads bridge railway port airport
""".split()


@functools.cache
def _sentences() -> tuple[str, ...]:
    """A fixed pool of sentences of 8 to 22 words, some with Turkish names."""
    rng = random.Random(20250520)
    pool = []
    for _ in range(3000):
        words = rng.choices(WORDS, k=rng.randint(8, 22))
        if rng.random() < 0.15:
            words.insert(
                rng.randrange(len(words)), rng.choice(["Türkiye’s", "Şanlıurfa", "Gaziantep"])
            )
        pool.append(" ".join(words).capitalize() + rng.choice(".....?"))
    return tuple(pool)


def _paragraph(rng: random.Random, sentences: tuple[str, ...]) -> str:
    return " ".join(rng.choice(sentences) for _ in range(rng.randint(2, 3)))


def _item(feed: int, generation: int, number: int, published: dt.datetime) -> str:
    rng = random.Random(feed * 1_000_003 + generation * 7_919 + number)
    sentences = _sentences()
    story = f"{generation:03d}{number:02d}-{rng.randrange(10**6):06d}"
    title = " ".join(rng.choices(WORDS, k=rng.randint(7, 11))).capitalize()
    title = f"{title} ({feed}-{story})"
    # The standfirst is written afresh: story clustering compares titles and standfirsts, and
    # two different stories rarely share their sentences (sentences from the shared pool would
    # make every story look like many others).
    standfirst = " ".join(
        " ".join(rng.choices(WORDS, k=rng.randint(8, 22))).capitalize() + "." for _ in range(2)
    )
    paragraphs = [_paragraph(rng, sentences) for _ in range(rng.randint(3, 5))]
    if rng.random() < 1 / 6:
        paragraphs[rng.randrange(len(paragraphs))] += " " + rng.choice(HOOKS)
    subheading = " ".join(rng.choices(WORDS, k=4)).capitalize()
    body = "".join(f"<p>{escape(p)}</p>" for p in paragraphs[:2])
    body += f"<h3>{escape(subheading)}</h3>"
    body += "".join(f"<p>{escape(p)}</p>" for p in paragraphs[2:])
    categories = rng.sample(SECTIONS, k=rng.randint(2, 3))
    link = f"https://news{feed % 97}.example.org/{categories[0].lower()[:5]}/{story}"
    caption = rng.choice(sentences)
    return (
        "<item>"
        f"<title>{escape(title)}</title>"
        f"<link>{link}</link>"
        f'<guid isPermaLink="false">feed-{feed}-{story}</guid>'
        f"<pubDate>{format_datetime(published)}</pubDate>"
        f"<dc:creator>{rng.choice(CREATORS)}</dc:creator>"
        + "".join(f"<category>{escape(c)}</category>" for c in categories)
        + f"<description><![CDATA[<p>{escape(standfirst)}</p>]]></description>"
        f"<content:encoded><![CDATA[{body}]]></content:encoded>"
        f'<media:content url="https://img.example.org/{story}.jpg" medium="image" '
        'type="image/jpeg" width="1200" height="675">'
        f"<media:title>{escape(title[:40])}</media:title>"
        f"<media:description>{escape(caption)} (Photo: AA Archive)</media:description>"
        '<media:credit role="photographer">AA</media:credit>'
        "</media:content>"
        f'<media:thumbnail url="https://img.example.org/{story}-thumb.jpg" width="320"/>'
        "</item>"
    )


def feed_xml(feed: int, generation: int = 0, entries: int = ENTRIES_PER_FEED) -> bytes:
    """The RSS document of feed number `feed` in its `generation`-th state."""
    # Newest first, ten minutes apart, each generation an hour after the previous one.
    newest = dt.datetime(2025, 5, 20, 6, 0, tzinfo=dt.timezone(dt.timedelta(hours=3)))
    newest += dt.timedelta(hours=generation, minutes=feed % 60)
    items = "".join(
        _item(feed, generation, number, newest - dt.timedelta(minutes=10 * number))
        for number in range(entries)
    )
    return _document(feed, newest, items)


def followup_xml(feed: int, generation: int, added: int) -> bytes:
    """Feed number `feed` after its `generation`-th state gained `added` newer items, ten
    minutes apart (the oldest ones drop out, so it still lists 30): each step from `added - 1`
    to `added` brings one new entry, as a live feed's next poll usually does."""
    newest = dt.datetime(2025, 5, 20, 6, 0, tzinfo=dt.timezone(dt.timedelta(hours=3)))
    newest += dt.timedelta(hours=generation, minutes=feed % 60)
    items = [
        _item(feed, generation, ENTRIES_PER_FEED + step, newest + dt.timedelta(minutes=10 * step))
        for step in range(added, 0, -1)
    ]
    items += [
        _item(feed, generation, number, newest - dt.timedelta(minutes=10 * number))
        for number in range(ENTRIES_PER_FEED - added)
    ]
    return _document(feed, newest + dt.timedelta(minutes=10 * added), "".join(items))


def window_xml(feed: int, newest: int, entries: int = ENTRIES_PER_FEED) -> bytes:
    """Feed number `feed` listing its items `newest`, `newest - 1`, … (a sliding window, as a
    live feed drops its oldest item when it publishes one): one more item after each step."""
    start = dt.datetime(2025, 5, 20, 6, 0, tzinfo=dt.UTC)
    items = "".join(
        _item(feed, 0, number, start + dt.timedelta(minutes=10 * number))
        for number in range(newest, max(newest - entries, -1), -1)
    )
    return _document(feed, start + dt.timedelta(minutes=10 * newest), items)


def _document(feed: int, built: dt.datetime, items: str) -> bytes:
    channel = (
        f"<title>Example News {feed}</title>"
        f"<link>https://news{feed % 97}.example.org/</link>"
        f"<description>Latest stories from desk {feed}</description>"
        "<language>en</language>"
        f"<lastBuildDate>{format_datetime(built)}</lastBuildDate>"
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:media="http://search.yahoo.com/mrss/">'
        f"<channel>{channel}{items}</channel></rss>\n"
    ).encode()
