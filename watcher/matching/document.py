"""An article analyzed once for matching: folded fields, tokens, stems and postings on demand."""

from __future__ import annotations

import bisect
import unicodedata
from dataclasses import dataclass, field

from watcher.article import QUERY_FIELDS, Article
from watcher.text import (
    STEM_BEFORE_FOLD,
    FoldedText,
    Tokens,
    fold,
    stem_originals,
    stem_words,
    tokenize,
)

# A position in a field: (start token, end token), inclusive; a joined compound spans two.
Span = tuple[int, int]


@dataclass(slots=True)
class Forms:
    """One way of reading every token of a field: stems in a language, or folded words."""

    main: list[str]
    heads: dict[int, str]
    joined_at: list[int]
    joined: list[str]
    _keys: set[str] | None = None

    @property
    def keys(self) -> set[str]:
        if self._keys is None:
            self._keys = set(self.main)
            self._keys.update(self.joined)
            self._keys.update(self.heads.values())
        return self._keys

    def places(self, value: str) -> list[Span]:
        """Where `value` occurs: as a word, as a word's head, or as a two-word compound."""
        if value not in self.keys:
            return []
        spans = [(i, i) for i in _indexes(self.main, value)]
        spans.extend((p, p) for p, head in self.heads.items() if head == value)
        spans.extend(
            (self.joined_at[j], self.joined_at[j] + 1) for j in _indexes(self.joined, value)
        )
        return spans

    def ends_at(self, position: int, value: str) -> list[int]:
        """End positions of `value` read from `position` (a word, its head, or a compound)."""
        ends = []
        if self.main[position] == value or self.heads.get(position) == value:
            ends.append(position)
        if value in self.keys:
            j = bisect.bisect_left(self.joined_at, position)
            if (
                j < len(self.joined_at)
                and self.joined_at[j] == position
                and self.joined[j] == value
            ):
                ends.append(position + 1)
        return ends


def _indexes(items: list[str], value: str) -> list[int]:
    # list.index runs in C: much faster than a Python loop over every token.
    found = []
    i = -1
    try:
        while True:
            i = items.index(value, i + 1)
            found.append(i)
    except ValueError:
        return found


@dataclass(slots=True)
class FieldText:
    """One searchable text: a header field or one body block."""

    field: str
    block: int | None
    index: int
    folded: FoldedText
    tokens: Tokens
    _forms: dict[str | None, Forms] = field(default_factory=dict)
    _starts: list[int] | None = None
    # Where this text's forms sit in a document-wide list: (forms, offset, compounds read).
    _layout: dict[str | None, tuple[list[str], int, list[int]]] = field(default_factory=dict)

    @property
    def original(self) -> str:
        return self.folded.original

    def forms(self, language: str | None) -> Forms:
        """Stems in a Snowball language, or the folded words themselves for None."""
        cached = self._forms.get(language)
        if cached is None:
            layout = self._layout.get(language)
            if layout is None:
                joinables, stems = read_forms([self], language)
                layout = (stems, 0, joinables[0])
            cached = self._forms[language] = _slice_forms(self, *layout)
        return cached

    def folded_span(self, first: int, last: int) -> tuple[int, int]:
        """Folded character offsets of tokens first..last inclusive."""
        spans = self.tokens.spans()
        return spans[first][0], spans[last][1]

    def original_span(self, first: int, last: int) -> tuple[int, int]:
        """Original offsets of tokens first..last inclusive."""
        return self.folded.original_span(*self.folded_span(first, last))

    def surface(self, position: int) -> str:
        """The token as written, for case-sensitive terms (`{IS}`), possessive dropped."""
        start, end = self.original_span(position, position)
        text = unicodedata.normalize("NFKC", self.original[start:end])
        for suffix in ("'s", "’s"):
            if text.endswith(suffix):
                return text[: -len(suffix)]
        return text

    def positions_of(self, fstart: int, fend: int) -> Span:
        """The token positions covering a folded character range (for regex hits in NEAR)."""
        spans = self.tokens.spans()
        if self._starts is None:
            self._starts = [start for start, _ in spans]
        if not spans:
            return (0, 0)
        first = max(bisect.bisect_right(self._starts, fstart) - 1, 0)
        if spans[first][1] <= fstart and first + 1 < len(spans):
            first += 1
        last = max(bisect.bisect_left(self._starts, fend) - 1, first)
        return (first, last)


@dataclass(frozen=True, slots=True)
class CompoundFilter:
    """The two-word compounds worth reading: those that can meet a word some rule looks for.

    A compound `air strikes` → `airstrikes` can only meet a query word that starts with its
    first word and goes on with the start of the second (`airstrike*`, `airstrikes`), so only
    such pairs are joined; nearly every other pair of adjacent words costs nothing.
    """

    starts: frozenset[str]

    @classmethod
    def of(cls, words: list[str]) -> CompoundFilter:
        return cls(frozenset(w[:k] for w in words for k in range(2, len(w) + 1)))

    def compounds(self, tokens: Tokens) -> list[int]:
        """Indexes i where words i and i+1 read as a compound some query word may start with."""
        words = tokens.words
        hits = self.starts.intersection(words)
        if not hits:
            return []
        last = len(words) - 1
        starts = self.starts
        return sorted(
            i
            for word in hits
            for i in _indexes(words, word)
            if i < last and (word + words[i + 1][:2]) in starts and tokens.joins(i)
        )


NO_COMPOUNDS = CompoundFilter(frozenset())


def read_forms(
    texts: list[FieldText], language: str | None, compounds: CompoundFilter | None = None
) -> tuple[list[list[int]], list[str]]:
    """The forms of several texts in one language, stemmed in one batch: for each text the
    compounds it reads (word indexes), and every form of every text in order (words, then
    compounds, then heads, text after text) — see `_slice_forms`."""
    words: list[str] = []
    joinables: list[list[int]] = []
    for text in texts:
        tokens = text.tokens
        tw = tokens.words
        joinable = tokens.joinable if compounds is None else compounds.compounds(tokens)
        joinables.append(joinable)
        words.extend(tw)
        words.extend([tw[i] + tw[i + 1] for i in joinable])
        words.extend(tokens.heads.values())
    if language in STEM_BEFORE_FOLD:
        stems = []
        for text, joinable in zip(texts, joinables, strict=True):
            originals = [text.surface(i) for i in range(len(text.tokens.words))]
            stems.extend(stem_originals(originals, language))
            tw = text.tokens.words
            stems.extend([tw[i] + tw[i + 1] for i in joinable])
            stems.extend(text.tokens.heads.values())
    else:
        stems = stem_words(words, language)
    return joinables, stems


def _slice_forms(text: FieldText, stems: list[str], offset: int, joinable: list[int]) -> Forms:
    """One text's forms, cut from the list `read_forms` made for several texts."""
    tokens = text.tokens
    n, j, h = len(tokens.words), len(joinable), len(tokens.heads)
    heads = stems[offset + n + j : offset + n + j + h]
    return Forms(
        stems[offset : offset + n],
        dict(zip(tokens.heads, heads, strict=True)),
        joinable,
        stems[offset + n : offset + n + j],
    )


def analyze_text(text: str, field_name: str, block: int | None = None, index: int = 0) -> FieldText:
    folded = fold(text)
    return FieldText(field_name, block, index, folded, tokenize(folded.folded))


# Where a form occurs in a document: (field text, first token, last token).
Place = tuple[FieldText, int, int]


@dataclass(slots=True)
class Document:
    """Every searchable text of an article, grouped by field."""

    article: Article
    texts: list[FieldText]
    by_field: dict[str, list[FieldText]]
    compounds: dict[str | None, CompoundFilter] | None = None
    _keys: dict[str | None, set[str]] = field(default_factory=dict)
    _words: set[str] | None = None
    _prefixes: dict[str, list[Place]] = field(default_factory=dict)
    _sorted_words: list[str] | None = None
    _flat: dict[str | None, tuple[list[str], list[int]]] = field(default_factory=dict)

    def places(self, language: str | None, value: str) -> list[Place]:
        """Where a form occurs, across all fields (searched in the document-wide list)."""
        if value not in self.keys(language):
            return []
        stems, offsets = self._flat[language]
        found: list[Place] = []
        for hit in _indexes(stems, value):
            text = self.texts[bisect.bisect_right(offsets, hit) - 1]
            _, offset, joinable = text._layout[language]
            local = hit - offset
            words = len(text.tokens.words)
            if local < words:
                found.append((text, local, local))
            elif local < words + len(joinable):
                position = joinable[local - words]
                found.append((text, position, position + 1))
            else:
                position = list(text.tokens.heads)[local - words - len(joinable)]
                found.append((text, position, position))
        return found

    def prefixed(self, prefix: str) -> list[Place]:
        """Single words (or their heads) starting with `prefix`."""
        cached = self._prefixes.get(prefix)
        if cached is None:
            if self._sorted_words is None:
                self._sorted_words = sorted(self.words())
            words = self._sorted_words
            cached = []
            for i in range(bisect.bisect_left(words, prefix), len(words)):
                if not words[i].startswith(prefix):
                    break
                cached.extend(
                    place for place in self.places(None, words[i]) if place[1] == place[2]
                )
            self._prefixes[prefix] = cached
        return cached

    def keys(self, language: str | None) -> set[str]:
        """All forms of all fields in one reading, for the candidate filter."""
        cached = self._keys.get(language)
        if cached is None:
            compounds = None
            if self.compounds is not None:
                compounds = self.compounds.get(language, NO_COMPOUNDS)
            joinables, stems = read_forms(self.texts, language, compounds)
            offsets = []
            offset = 0
            for text, joinable in zip(self.texts, joinables, strict=True):
                # Most articles meet no candidate rule: a text's forms are cut out when asked.
                text._layout[language] = (stems, offset, joinable)
                offsets.append(offset)
                offset += len(text.tokens.words) + len(joinable) + len(text.tokens.heads)
            self._flat[language] = (stems, offsets)
            cached = self._keys[language] = set(stems)
        return cached

    def words(self) -> set[str]:
        """Distinct folded words (with heads), for prefix terms."""
        if self._words is None:
            words: set[str] = set()
            for text in self.texts:
                words.update(text.tokens.words)
                words.update(text.tokens.heads.values())
            self._words = words
        return self._words


def analyze(
    article: Article, compounds: dict[str | None, CompoundFilter] | None = None
) -> Document:
    texts: list[FieldText] = []
    by_field: dict[str, list[FieldText]] = {name: [] for name in QUERY_FIELDS}
    for name in QUERY_FIELDS:
        if name == "body":
            values = [(b.text, i) for i, b in enumerate(article.body)]
        else:
            value = getattr(article, name)
            values = [(value, None)] if value else []
        for value, block in values:
            text = analyze_text(value, name, block, len(texts))
            texts.append(text)
            by_field[name].append(text)
    return Document(article, texts, by_field, compounds)
