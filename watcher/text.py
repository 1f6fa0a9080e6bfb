"""One normalization pipeline for rule terms and article text (DESIGN §4, research/rules.md §3).

Folding is done character by character on the non-ASCII parts only, so every character of the
folded text can be traced back to the original: evidence quotes what the publisher wrote
(`Counter‑terrorism` with its U+2011), while matching sees `counter-terrorism`.
"""

from __future__ import annotations

import bisect
import functools
import itertools
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

import Stemmer

# Removed outright so that the word around them joins up (`bor\u00adder` reads `border`).
INVISIBLE = frozenset("\u00ad\u200b\u200c\u200d\u2060\ufeff")
DASHES = frozenset("\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe63\uff0d")
SINGLE_QUOTES = frozenset("\u2018\u2019\u201a\u201b\u02bc\u2032\u00b4`")
DOUBLE_QUOTES = frozenset("\u201c\u201d\u201e\u201f\u2033\u00ab\u00bb")
SPACES = frozenset("\u00a0\u202f\u2009\u2007\u2002\u2003")
# NFKD leaves these letters whole; news text uses them in names (Łódź, Ørsted, Đoković).
UNDECOMPOSED = {
    "ı": "i",
    "ł": "l",
    "ø": "o",
    "đ": "d",
    "ð": "d",
    "þ": "th",
    "æ": "ae",
    "œ": "oe",
    "ħ": "h",
}

WORD = re.compile(r"([^\W_]+(?:'[^\W_]+)*)([\W_]*)")
# What may stand between two words that also read as one (`air strikes`, `PKK/YPG`).
JOINING_SEPARATORS = frozenset({" ", "-", "/", " -", "- ", " - ", " /", "/ ", " / ", "  "})


@functools.lru_cache(maxsize=65536)
def fold_char(char: str) -> str:
    """The folded form of one character: possibly empty (invisible) or longer (`ﬁ` → `fi`)."""
    if char in INVISIBLE:
        return ""
    out = []
    for c in unicodedata.normalize("NFKC", char):
        if c in INVISIBLE:
            continue
        if c in DASHES:
            out.append("-")
        elif c in SINGLE_QUOTES:
            out.append("'")
        elif c in DOUBLE_QUOTES:
            out.append('"')
        elif c in SPACES:
            out.append(" ")
        elif c in "İIı":
            # Turkish-aware: Python folds İ to i + U+0307, which no longer equals `i`.
            out.append("i")
        else:
            for d in unicodedata.normalize("NFKD", c.casefold()):
                if not unicodedata.combining(d):
                    out.append(UNDECOMPOSED.get(d, d))
    return "".join(out)


_NON_ASCII = re.compile(r"[^\x00-\x7f]+")


@dataclass(slots=True)
class FoldedText:
    """Folded text plus the map from folded offsets back to the original text.

    `anchors` are folded offsets where a mapping segment starts; `origins[i]` is the original
    offset of that segment's first character, `linear[i]` says whether the segment maps one
    to one (ASCII runs) or collapses onto one original character (`ﬁ` → `fi`).
    """

    original: str
    folded: str
    # Empty (and shared: no lists to allocate) when every offset maps to itself.
    anchors: Sequence[int] = ()
    origins: Sequence[int] = ()
    widths: Sequence[int] = ()
    linear: Sequence[bool] = ()

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """The original offsets of the folded slice `[start, end)`."""
        if not self.anchors:
            return start, end
        return self._origin_start(start), self._origin_end(end - 1)

    def _segment(self, pos: int) -> int:
        return max(bisect.bisect_right(self.anchors, pos) - 1, 0)

    def _origin_start(self, pos: int) -> int:
        i = self._segment(pos)
        return self.origins[i] + (pos - self.anchors[i] if self.linear[i] else 0)

    def _origin_end(self, pos: int) -> int:
        i = self._segment(pos)
        if self.linear[i]:
            return self.origins[i] + (pos - self.anchors[i]) + 1
        return self.origins[i] + self.widths[i]


def fold(text: str) -> FoldedText:
    """NFKC, drop invisibles, canonical dashes and quotes, Turkish-aware casefold, no diacritics."""
    if text.isascii():
        return FoldedText(text, text.lower())
    pieces: list[str] = []
    anchors: list[int] = []
    origins: list[int] = []
    widths: list[int] = []
    linears: list[bool] = []
    folded_len = 0
    cursor = 0

    def add(piece: str, origin: int, width: int, linear: bool) -> None:
        nonlocal folded_len
        if not piece:
            return
        anchors.append(folded_len)
        origins.append(origin)
        widths.append(width)
        linears.append(linear)
        pieces.append(piece)
        folded_len += len(piece)

    for match in _NON_ASCII.finditer(text):
        start, end = match.span()
        if start > cursor:
            add(text[cursor:start].lower(), cursor, start - cursor, True)
        for offset, char in enumerate(match.group(), start):
            folded_char = fold_char(char)
            add(folded_char, offset, 1, len(folded_char) == 1)
        cursor = end
    if cursor < len(text):
        add(text[cursor:].lower(), cursor, len(text) - cursor, True)
    return FoldedText(text, "".join(pieces), anchors, origins, widths, linears)


def fold_plain(text: str) -> str:
    """The folded string alone, for terms and keys."""
    return fold(text).folded


@dataclass(slots=True)
class Tokens:
    """The words of folded text, whether the separator after each one joins it to the next,
    and (on demand) their spans.

    `heads` holds the part before an inner apostrophe (`hay'at` → `hay`, `ankara'ya` →
    `ankara`) by word index. `raw` holds the words as written (apostrophes kept).
    """

    folded: str
    words: list[str]
    heads: dict[int, str]
    raw: list[str]
    # What stands between word i and word i+1, when tokenizing found it anyway; most texts
    # only need their words, so ASCII text finds its separators when first asked (`joining`).
    separators: list[str] | None = None
    _joining: list[bool] | None = None
    _spans: list[tuple[int, int]] | None = None

    def __len__(self) -> int:
        return len(self.words)

    @property
    def joining(self) -> list[bool]:
        """For each word but the last, whether it also reads as one with the next."""
        if self._joining is None:
            if self.separators is None and "'" in self.folded:
                # ASCII text with apostrophes: the separators as `WORD` finds them.
                pairs = WORD.findall(self.folded)
                self.separators = [separator for _, separator in pairs[:-1]]
            if self.separators is None:
                self._joining = _ascii_joining(self.folded, len(self.words))
            else:
                self._joining = list(map(JOINING_SEPARATORS.__contains__, self.separators))
        return self._joining

    def joins(self, i: int) -> bool:
        """Whether words i and i+1 also read as one compound (`air strikes` → `airstrikes`)."""
        joining = self.joining
        return i < len(joining) and joining[i]

    @property
    def joinable(self) -> list[int]:
        return list(itertools.compress(itertools.count(), self.joining))

    def spans(self) -> list[tuple[int, int]]:
        if self._spans is None:
            spans = []
            end = 0
            find = self.folded.find
            for word in self.raw:
                # Separators hold no letters or digits, so the word's next occurrence is it.
                start = find(word, end)
                end = start + len(word)
                spans.append((start, end))
            self._spans = spans
        return self._spans


_SEPARATORS = re.compile(r"([\W_]+)")
# ASCII letters and digits are word characters (`[^\W_]`); any other ASCII byte separates words.
_ASCII_WORD = frozenset(c for c in range(128) if chr(c).isalnum())
_ASCII_WORD_BYTES = bytes(c if c in _ASCII_WORD else 32 for c in range(256))
# The same with the apostrophe kept, for words like `hay'at`.
_ASCII_WORD_APOSTROPHE_BYTES = bytes(
    c if c in _ASCII_WORD or c == ord("'") else 32 for c in range(256)
)
# The separators of ASCII text, found in C: letters and digits become spaces, every other
# byte gets its top bit set (so that none is whitespace), and splitting yields the runs.
_ASCII_SEPARATOR_BYTES = bytes(32 if c in _ASCII_WORD else c | 0x80 for c in range(256))
_SHIFTED_JOINING = frozenset(
    s.encode("ascii").translate(_ASCII_SEPARATOR_BYTES) for s in JOINING_SEPARATORS
)


def _ascii_joining(folded: str, words: int) -> list[bool]:
    """`Tokens.joining` of ASCII text with `words` words."""
    runs = folded.encode("ascii").translate(_ASCII_SEPARATOR_BYTES).split()
    if folded and not folded[0].isalnum():
        del runs[0]  # what stands before the first word
    return list(map(_SHIFTED_JOINING.__contains__, runs[: max(words - 1, 0)]))


def _split(folded: str) -> tuple[list[str], list[str]]:
    """The words of folded text and the separators between them."""
    parts = _SEPARATORS.split(folded)
    raw = parts[0::2]
    separators = parts[1::2]
    if raw and not raw[0]:
        del raw[0]
        if separators:
            del separators[0]
    if raw and not raw[-1]:
        raw.pop()
    del separators[max(len(raw) - 1, 0) :]
    return raw, separators


def tokenize(folded: str) -> Tokens:
    """Split folded text into words: hyphens, slashes and spaces split (and join) words; a
    possessive `'s` is dropped; an inner apostrophe keeps the joined word and its head."""
    if folded.isascii():
        # The same words as the regular expressions below, several times faster: a few
        # passes in C instead of a regex.
        if "'" in folded:
            return _with_apostrophes(folded, _ascii_apostrophe_words(folded))
        words = folded.encode("ascii").translate(_ASCII_WORD_BYTES).decode("ascii").split()
        return Tokens(folded, words, {}, words)
    if "'" in folded:
        pairs = WORD.findall(folded)
        raw = [word for word, _ in pairs]
        return _with_apostrophes(folded, raw, [separator for _, separator in pairs[:-1]])
    raw, separators = _split(folded)
    return Tokens(folded, raw, {}, raw, separators)


def _ascii_apostrophe_words(folded: str) -> list[str]:
    """The words `WORD` finds in ASCII text: runs of letters and digits joined by single
    apostrophes (`hay'at`); a leading, trailing or doubled apostrophe separates."""
    raw = []
    chunks = folded.encode("ascii").translate(_ASCII_WORD_APOSTROPHE_BYTES).decode("ascii")
    for chunk in chunks.split():
        if "'" in chunk:
            raw.extend(part.strip("'") for part in chunk.split("''") if part.strip("'"))
        else:
            raw.append(chunk)
    return raw


def _with_apostrophes(folded: str, raw: list[str], separators: list[str] | None = None) -> Tokens:
    words = list(raw)
    heads: dict[int, str] = {}
    for i, word in enumerate(words):
        if "'" in word:
            if word.endswith("'s"):
                word = word[:-2]
            if "'" in word:
                heads[i] = word.split("'", 1)[0]
                word = word.replace("'", "")
            words[i] = word
    return Tokens(folded, words, heads, raw, separators)


# British spellings fold to American ones so that TRT's `stabilise` meets `stabilize`; only
# words of six letters or more, so that `four` and `hour` stay as they are.
_UK_US = [
    (re.compile(r"isation(s?)$"), r"ization\1"),
    (re.compile(r"is(e|ed|es|ing|er|ers)$"), r"iz\1"),
    (re.compile(r"yse(s|d)?$"), r"yze\1"),
    (re.compile(r"ence$"), "ense"),
    (re.compile(r"our(s|ed|ing|ite|ites)?$"), r"or\1"),
    (re.compile(r"tre(s)?$"), r"ter\1"),
]


_UK_ENDINGS = (
    "isation",
    "isations",
    "ise",
    "ised",
    "ises",
    "ising",
    "iser",
    "isers",
    "yse",
    "ysed",
    "yses",
    "ence",
    "our",
    "ours",
    "oured",
    "ouring",
    "ourite",
    "ourites",
    "tre",
    "tres",
)


def uk_to_us(word: str) -> str:
    if len(word) < 6 or not word.endswith(_UK_ENDINGS) or not word.isascii():
        return word
    for pattern, replacement in _UK_US:
        new = pattern.sub(replacement, word)
        if new != word:
            return new
    return word


class UnknownLanguageError(ValueError):
    pass


@functools.cache
def _stemmer(language: str) -> Stemmer.Stemmer:
    stemmer = Stemmer.Stemmer(language)
    stemmer.maxCacheSize = 50_000
    return stemmer


LANGUAGE_CODES = {
    "en": "english",
    "tr": "turkish",
    "de": "german",
    "fr": "french",
    "es": "spanish",
    "it": "italian",
    "pt": "portuguese",
    "nl": "dutch",
    "ru": "russian",
    "ar": "arabic",
    "sv": "swedish",
    "da": "danish",
    "no": "norwegian",
    "fi": "finnish",
    "hu": "hungarian",
    "ro": "romanian",
    "el": "greek",
}


def stemmer_name(language: str) -> str | None:
    """The Snowball algorithm for a rule language (`en`, `english`, …); None for `none`."""
    lang = language.lower()
    if lang == "none":
        return None
    name = LANGUAGE_CODES.get(lang, lang)
    if name not in Stemmer.algorithms():
        known = ", ".join(sorted(LANGUAGE_CODES)) + ", none"
        raise UnknownLanguageError(f"unknown language {language!r} (expected one of: {known})")
    return name


def turkish_lower(text: str) -> str:
    return unicodedata.normalize("NFC", text).replace("I", "ı").replace("İ", "i").lower()


_STEM_CACHE_LIMIT = 200_000
_stem_caches: dict[str, dict[str, str]] = {}


def stem_words(words: list[str], language: str | None) -> list[str]:
    """Stems of folded words in one language (None: the words themselves)."""
    if language is None:
        return words
    cache = _stem_caches.setdefault(language, {})
    try:
        # map in C: no Python step per word (a document has hundreds).
        return list(map(cache.__getitem__, words))
    except KeyError:  # a word not seen before: stem the new ones, then look all up
        missing = [w for w in set(words) if w not in cache]
        if len(cache) > _STEM_CACHE_LIMIT:
            cache.clear()
            missing = list(set(words))
        spelled = [uk_to_us(w) for w in missing] if language == "english" else missing
        cache.update(zip(missing, _stemmer(language).stemWords(spelled), strict=True))
        return list(map(cache.__getitem__, words))


def stem_originals(originals: list[str], language: str) -> list[str]:
    """Stems for languages whose stemmer needs the diacritics (Turkish `sınırda` → `sınır`)."""
    lowered = [turkish_lower(w) if language == "turkish" else w.lower() for w in originals]
    return [fold_plain(s) for s in _stemmer(language).stemWords(lowered)]


# Languages whose stemmer must see the letters before diacritics are folded away.
STEM_BEFORE_FOLD = frozenset({"turkish"})
