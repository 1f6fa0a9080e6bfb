"""Who an entry is: its key within a feed, the canonical form of its link, and a fingerprint of
its words for spotting the same story in other feeds (issue 3 §3, DESIGN §9).

An entry key must stay the same for as long as the entry is in the feed, whatever the feed does
to its order or dates, so nothing here looks at dates or positions. In order of preference:

1. `guid:<id>` — the feed's own guid/id; an id that is a URL is taken in its canonical form,
   because publishers bump a fragment on every revision (BBC: `…/cn0npjkqrleo#0`, then `#1`);
   when two items of one feed share the canonical form, their ids are taken exactly;
2. `guid+link:<id> <canonical link>` — when an id repeats exactly inside one feed (broken
   CMSes give every item the same guid), the link tells the items apart;
3. `link:<canonical link>` — no id;
4. `text:<sha256>` — neither: a hash of the normalized title and summary.

Where the link cannot tell the items of one feed apart either (podcasts and live pages that
link every item to the same show or page), the text hash joins it: `guid+text:<id> <sha256>`
and `link+text:<canonical link> <sha256>`. Those keys change once, when a second item with the
link appears, and each such item then counts as new a single time.

Keys longer than `MAX_KEY_LENGTH` are replaced by `sha256:<hex>` of the key so that a store
column of bounded size holds every one.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from watcher.text import fold_plain, tokenize

#: How a feed's entries are told apart: `auto` follows the order above; `guid`, `link` and
#: `text` start at that rung (a per-feed override for feeds whose guids or links churn).
IdentityRule = Literal["auto", "guid", "link", "text"]

MAX_KEY_LENGTH = 512

# Query parameters that only say where a click came from; two links that differ only in these
# name the same article.
TRACKING_PARAMS = frozenset(
    {
        "at_campaign", "at_custom1", "at_custom2", "at_custom3", "at_custom4", "at_link_id",
        "at_link_origin", "at_link_type", "at_medium", "at_ptr_name", "cmp", "cmpid", "dclid",
        "emc", "fbclid", "gclid", "gclsrc", "igshid", "ito", "maca", "mc_cid", "mc_eid",
        "msclkid", "ocid", "partner", "smid", "traffic_source", "yclid", "_ga", "_gl",
    }
)  # fmt: skip
TRACKING_PREFIXES = ("utm_", "ns_", "at_")
DEFAULT_PORTS = {"http": 80, "https": 443}

# Words too common to tell two stories apart.
STOPWORDS = frozenset(
    {
        "a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "has", "have", "in",
        "is", "it", "its", "of", "on", "or", "that", "the", "to", "was", "were", "will", "with",
    }
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class EntryIdentity:
    """What an entry says about itself that can identify it."""

    guid: str | None
    link: str | None
    title: str
    summary: str


def _is_tracking(name: str) -> bool:
    lowered = name.lower()
    return lowered in TRACKING_PARAMS or lowered.startswith(TRACKING_PREFIXES)


def canonical_url(url: str) -> str:
    """The form of a link that two feeds citing the same article agree on.

    Scheme and host lower-cased, default port and fragment dropped, tracking parameters
    (`utm_*`, `at_*`, `fbclid`, …) removed, the remaining query sorted. Anything that is not
    an absolute http(s) URL comes back stripped of surrounding whitespace only.
    """
    text = url.strip()
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        return text
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        return text
    host = parts.hostname
    if ":" in host:
        host = f"[{host}]"
    if port is not None and port != DEFAULT_PORTS[scheme]:
        host = f"{host}:{port}"
    if parts.username is not None:
        credentials = parts.username
        if parts.password is not None:
            credentials += f":{parts.password}"
        host = f"{credentials}@{host}"
    query = sorted(
        (name, value)
        for name, value in parse_qsl(parts.query, keep_blank_values=True)
        if not _is_tracking(name)
    )
    return urlunsplit((scheme, host, parts.path or "/", urlencode(query), ""))


def _words(text: str) -> list[str]:
    return tokenize(fold_plain(text)).words


def _text_hash(title: str, summary: str) -> str:
    normalized = " ".join(_words(title)) + "\n" + " ".join(_words(summary))
    return hashlib.sha256(normalized.encode("utf-8")).hexdigest()


def _bounded(key: str) -> str:
    if len(key) <= MAX_KEY_LENGTH:
        return key
    return "sha256:" + hashlib.sha256(key.encode("utf-8")).hexdigest()


def _exact_guid(entry: EntryIdentity) -> str:
    return (entry.guid or "").strip()


def _guid_identity(entry: EntryIdentity) -> str:
    guid = _exact_guid(entry)
    return canonical_url(guid) if guid.startswith(("http://", "https://")) else guid


def entry_key(
    entry: EntryIdentity,
    *,
    guid_repeats: bool = False,
    exact_guid: bool = False,
    link_repeats: bool = False,
    by: IdentityRule = "auto",
) -> str:
    """The key of one entry.

    `guid_repeats`: its guid occurs more than once in its feed; `exact_guid`: another entry
    of the feed has the same canonical guid, so the guid is taken exactly as written;
    `link_repeats`: another entry of the feed would get the same key from its link.
    """
    guid = _exact_guid(entry) if exact_guid else _guid_identity(entry)
    link = canonical_url(entry.link) if entry.link and entry.link.strip() else ""
    if by in ("auto", "guid") and guid:
        if not guid_repeats:
            return _bounded(f"guid:{guid}")
        if link and not link_repeats:
            return _bounded(f"guid+link:{guid} {link}")
        return _bounded(f"guid+text:{guid} {_text_hash(entry.title, entry.summary)}")
    if by in ("auto", "guid", "link") and link:
        if not link_repeats:
            return _bounded(f"link:{link}")
        return _bounded(f"link+text:{link} {_text_hash(entry.title, entry.summary)}")
    return f"text:{_text_hash(entry.title, entry.summary)}"


def entry_keys(entries: Sequence[EntryIdentity], *, by: IdentityRule = "auto") -> list[str]:
    """The keys of all entries of one feed, in order (repeats are judged feed-wide)."""
    canonical = Counter(map(_guid_identity, entries))
    exact = Counter(map(_exact_guid, entries))
    choices = []
    for entry in entries:
        ambiguous = canonical[_guid_identity(entry)] > 1
        repeats = ambiguous and exact[_exact_guid(entry)] > 1
        choices.append((ambiguous, repeats))
    keys = [
        entry_key(entry, guid_repeats=repeats, exact_guid=ambiguous, by=by)
        for entry, (ambiguous, repeats) in zip(entries, choices, strict=True)
    ]
    # A key given twice came from a link (guid keys are unique by now; text keys of the same
    # text are the same entry): those entries take their text too.
    counts = Counter(keys)
    return [
        entry_key(entry, guid_repeats=repeats, exact_guid=ambiguous, link_repeats=True, by=by)
        if counts[key] > 1
        else key
        for entry, (ambiguous, repeats), key in zip(entries, choices, keys, strict=True)
    ]


class EveryKey:
    """Stands where a set of seen keys goes, holding every key: on a feed's first poll every
    entry is only marked seen (`[poll] first_poll_alerts = 0`), so the parser need not build
    the entries whose guids alone give their keys, and full texts are fetched for none."""

    __slots__ = ()

    def __contains__(self, key: object) -> bool:
        return True

    def __bool__(self) -> bool:
        return True

    def __repr__(self) -> str:
        return "EVERY_KEY"

    def __reduce__(self) -> str:
        return "EVERY_KEY"  # pickled as the module's one instance, to a parser worker too


EVERY_KEY = EveryKey()

#: Keys of entries the store has seen, as the parser is told them: a set, or `EVERY_KEY`.
SeenKeys = frozenset[str] | EveryKey


def keys_by_guid_alone(
    guids: Sequence[str | None], *, by: IdentityRule = "auto"
) -> list[str | None]:
    """For each entry of one feed (given by its guid), its key when the guid alone decides it:
    a guid no other entry of the feed shares, not even in canonical form. None for the others,
    whose keys need their links or text (`entry_keys`, once they are normalized).

    Such a key is the one `entry_keys` gives the entry, with or without the entries that have
    none here (they share no canonical guid with it, so they do not change its count).
    """
    if by not in ("auto", "guid"):
        return [None] * len(guids)
    identities = [EntryIdentity(guid=guid, link=None, title="", summary="") for guid in guids]
    canonical = [_guid_identity(identity) for identity in identities]
    counts = Counter(canonical)
    return [_bounded(f"guid:{guid}") if guid and counts[guid] == 1 else None for guid in canonical]


def title_fingerprint(title: str, summary: str = "") -> frozenset[str]:
    """The distinctive words of a story, for near-duplicate detection across feeds.

    Words are folded the way the matcher folds them (Turkish-aware case, no diacritics, dashes
    and quotes unified), so `Türkiye’s border` and `Turkiye's Border` give the same set; common
    function words and one-letter words are left out. Compare two with `fingerprint_similarity`.
    """
    return frozenset(
        word for word in _words(title) + _words(summary) if len(word) > 1 and word not in STOPWORDS
    )


def fingerprint_similarity(first: frozenset[str], second: frozenset[str]) -> float:
    """Jaccard similarity of two fingerprints: 1.0 for the same words, 0.0 for none shared."""
    if not first or not second:
        return 0.0
    return len(first & second) / len(first | second)
