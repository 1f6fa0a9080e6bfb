"""When two articles are the same story: pure functions, no database (issue 3 §3).

Two articles are one story when they share a canonical URL, or when the word shingles (pairs of
adjacent words, after the matcher's folding) of their title and summary have a Jaccard
similarity of at least 0.8 and the earlier one was seen within the last 48 hours.

Finding the similar stories among tens of thousands uses MinHash with banding (locality
sensitive hashing, Broder 1997; Leskovec, Rajaraman and Ullman, "Mining of Massive Datasets"
ch. 3): 64 min-hashes of the shingles, cut into 16 bands of 4, each band hashed to one key. Two
texts share a band key with probability 1 − (1 − J⁴)¹⁶: 0.9998 at J = 0.8, above 0.99999 at
J = 0.9, about 0.03 at J = 0.2. So an index lookup of 16 keys finds the near-identical stories
(missing one at the threshold about once in 5,000) whatever words are common in the news, and a
full Jaccard check then confirms each candidate.

`story_keys` does the costly part (folding, hashing) from the text alone, so a parser worker
process can run it and hand the store plain data.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from urllib.parse import urlsplit

from watcher.text import fold_plain, tokenize

SIMILARITY = Fraction(4, 5)
WINDOW = dt.timedelta(hours=48)
SHINGLE_SIZE = 2
# Below this many words a title and summary are too generic ("Live updates") to cluster on.
MIN_WORDS = 5
BANDS = 16
ROWS_PER_BAND = 4
# One SHAKE-128 output per shingle gives all 64 hash values: its 16-bit lanes are independent
# hash functions, computed in one C call instead of 64 Python multiplications. (Sixteen bits
# per lane are plenty: a band is four lanes, and every candidate is checked exactly.)
_LANES = struct.Struct(f"<{BANDS * ROWS_PER_BAND}H")
_BAND = struct.Struct(f"<{ROWS_PER_BAND + 1}H")
# The lane-wise minimum over all shingles is taken on Python integers used as vector registers
# (SWAR), a few big-integer operations per shingle instead of 64 Python comparisons: even and
# odd lanes go apart (the even ones to the low half of one register, the odd ones to its high
# half), each lane alone in a 32-bit slot, so that the slot's bit 16 is free to catch the
# comparison (a + 2¹⁶ − b has it set exactly when a ≥ b, and never borrows from the next slot).
_HALF = _LANES.size * 8
_SLOTS = int.from_bytes(b"\xff\xff\x00\x00" * (_LANES.size // 2), "little")
_SPARE = int.from_bytes(b"\x00\x00\x01\x00" * (_LANES.size // 2), "little")


def words(text: str) -> list[str]:
    """The folded words of a text, as the matcher sees them (`Türkiye’s` → `turkiye`)."""
    return tokenize(fold_plain(text)).words


def shingles(text_words: Sequence[str]) -> frozenset[str]:
    """The sets of adjacent word pairs (single words when the text has only one)."""
    if len(text_words) < SHINGLE_SIZE:
        return frozenset(text_words)
    return frozenset(
        " ".join(text_words[i : i + SHINGLE_SIZE])
        for i in range(len(text_words) - SHINGLE_SIZE + 1)
    )


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """The shingles of a title and summary (shingled apart, so no pair spans the two)."""

    shingles: frozenset[str]

    @classmethod
    def of(cls, title_words: Sequence[str], summary_words: Sequence[str]) -> Fingerprint | None:
        """None when the text is too short to tell stories apart."""
        if len(title_words) + len(summary_words) < MIN_WORDS:
            return None
        return cls(shingles(title_words) | shingles(summary_words))

    @classmethod
    def of_text(cls, title: str, summary: str) -> Fingerprint | None:
        return cls.of(words(title), words(summary))

    def band_keys(self) -> list[int]:
        """The LSH keys to index and to look up: similar fingerprints share one (see above)."""
        lowest = _SLOTS  # every lane at its largest value
        for shingle in self.shingles:
            lanes = int.from_bytes(
                hashlib.shake_128(shingle.encode()).digest(_LANES.size), "little"
            )
            # Shifted by the half width less 16 bits, the odd lanes land on the high half's slots.
            lowest = _slot_minimum(lowest, (lanes | lanes << _HALF - 16) & _SLOTS)
        even, odd = lowest & (1 << _HALF) - 1, lowest >> _HALF
        minhashes = _LANES.unpack((even | odd << 16).to_bytes(_LANES.size, "little"))
        keys = []
        for band in range(BANDS):
            rows = minhashes[band * ROWS_PER_BAND : (band + 1) * ROWS_PER_BAND]
            digest = hashlib.blake2b(_BAND.pack(band, *rows), digest_size=8)
            keys.append(int.from_bytes(digest.digest(), "big", signed=True))
        return keys

    def similarity(self, other: Fingerprint) -> Fraction:
        union = len(self.shingles | other.shingles)
        return Fraction(len(self.shingles & other.shingles), union) if union else Fraction(0)

    def same_story(self, other: Fingerprint) -> bool:
        return self.similarity(other) >= SIMILARITY


def _slot_minimum(a: int, b: int) -> int:
    """The minimum of each 32-bit slot of `a` and `b` (values below 2¹⁶; see `_SLOTS`)."""
    a_not_less = ((a | _SPARE) - b & _SPARE) >> 16
    return a ^ (a ^ b) & a_not_less * 0xFFFF


@dataclass(frozen=True, slots=True)
class StoryKeys:
    """What the store needs to cluster an article, as plain picklable data: the folded words of
    its title and summary, and the sorted unique band keys of their fingerprint (empty when the
    text is too short to cluster)."""

    title_words: tuple[str, ...]
    summary_words: tuple[str, ...]
    band_keys: tuple[int, ...]


def story_keys(title: str, summary: str) -> StoryKeys:
    """The story keys of an article's title and summary (pure: safe in a worker process)."""
    title_words, summary_words = words(title), words(summary)
    fingerprint = Fingerprint.of(title_words, summary_words)
    band_keys = sorted(set(fingerprint.band_keys())) if fingerprint else []
    return StoryKeys(tuple(title_words), tuple(summary_words), tuple(band_keys))


def clusterable_url(canonical_url: str | None) -> str | None:
    """The canonical URL when it can name a story; None for a site's front page (feeds that
    link every entry to their home page would otherwise merge everything into one story)."""
    if not canonical_url or not canonical_url.strip():
        return None
    url = canonical_url.strip()
    parts = urlsplit(url)
    if parts.path in ("", "/") and not parts.query:
        return None
    return url
