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
"""

from __future__ import annotations

import datetime as dt
import hashlib
import struct
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


def words(text: str) -> list[str]:
    """The folded words of a text, as the matcher sees them (`Türkiye’s` → `turkiye`)."""
    return tokenize(fold_plain(text)).words


def shingles(text_words: list[str]) -> frozenset[str]:
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
    def of(cls, title_words: list[str], summary_words: list[str]) -> Fingerprint | None:
        """None when the text is too short to tell stories apart."""
        if len(title_words) + len(summary_words) < MIN_WORDS:
            return None
        return cls(shingles(title_words) | shingles(summary_words))

    @classmethod
    def of_text(cls, title: str, summary: str) -> Fingerprint | None:
        return cls.of(words(title), words(summary))

    def band_keys(self) -> list[int]:
        """The LSH keys to index and to look up: similar fingerprints share one (see above)."""
        lanes = (
            _LANES.unpack(hashlib.shake_128(s.encode()).digest(_LANES.size)) for s in self.shingles
        )
        minhashes = list(map(min, zip(*lanes, strict=True)))
        keys = []
        for band in range(BANDS):
            rows = minhashes[band * ROWS_PER_BAND : (band + 1) * ROWS_PER_BAND]
            digest = hashlib.blake2b(
                struct.pack(f"<{ROWS_PER_BAND + 1}H", band, *rows), digest_size=8
            )
            keys.append(int.from_bytes(digest.digest(), "big", signed=True))
        return keys

    def similarity(self, other: Fingerprint) -> Fraction:
        union = len(self.shingles | other.shingles)
        return Fraction(len(self.shingles & other.shingles), union) if union else Fraction(0)

    def same_story(self, other: Fingerprint) -> bool:
        return self.similarity(other) >= SIMILARITY


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
