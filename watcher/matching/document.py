"""An article analyzed once for matching: folded fields, tokens, stems and postings on demand."""

from __future__ import annotations

import bisect
import itertools
import operator
import unicodedata
from collections.abc import Iterable
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
                joinable = self.tokens.joinable
                layout = (read_forms([self], language, [joinable]), 0, joinable)
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


_FIRST_TWO = operator.itemgetter(slice(2))


@dataclass(frozen=True, slots=True)
class CompoundFilter:
    """The two-word compounds worth reading: those that can meet a word some rule looks for.

    A compound `air strikes` → `airstrikes` can only meet a query word that starts with its
    first word and goes on with the start of the second (`airstrike*`, `airstrikes`), so only
    such pairs are joined; nearly every other pair of adjacent words costs nothing. Of those,
    only a pair whose form in the reading is one some query looks for (`wanted`) is kept: any
    other compound meets no query, and is not worth finding the separator of its text.
    """

    # For each start of a query word (its first two letters or more), what the next word's
    # first two letters (or the whole next word, when it has one letter) may be for the
    # pair to read as a longer start: `air` → {`st`, …} for `airstrikes`.
    follows: dict[str, frozenset[str]]
    language: str | None = None
    # Every form a query looks up in this reading (any word of a phrase, not only the first).
    wanted: frozenset[str] = frozenset()

    @classmethod
    def of(cls, words: list[str], language: str | None, wanted: Iterable[str]) -> CompoundFilter:
        starts = frozenset(w[:k] for w in words for k in range(2, len(w) + 1))
        follows: dict[str, set[str]] = {}
        for start in starts:
            for k in (1, 2):
                if len(start) - k >= 2:
                    follows.setdefault(start[:-k], set()).add(start[-k:])
        return cls(
            {first: frozenset(nexts) for first, nexts in follows.items()},
            language,
            frozenset(wanted),
        )

    def compounds(self, texts: list[Tokens], distinct: set[str]) -> list[list[int]]:
        """For each text, the indexes i where words i and i+1 read as a compound some query
        word may start with (`distinct`: every word of the texts). The texts are searched as
        one list: a few calls into C instead of a Python loop per text."""
        follows = self.follows
        found: list[list[int]] = [[] for _ in texts]
        # Only starts that some longer start continues can begin a compound.
        if follows.keys().isdisjoint(distinct):
            return found
        words = list(itertools.chain.from_iterable(tokens.words for tokens in texts))
        hits = list(itertools.compress(itertools.count(), map(follows.__contains__, words)))
        # The next word's start is checked in C too: with many rules, dozens of an article's
        # words start some query word, and only a few of them go on as one.
        words.append("")  # what follows the last word: nothing to join
        nexts = map(_FIRST_TWO, map(words.__getitem__, map((1).__add__, hits)))
        allowed = map(follows.__getitem__, map(words.__getitem__, hits))
        pairs = list(itertools.compress(hits, map(operator.contains, allowed, nexts)))
        # The pair's form as `read_forms` reads it, looked up before its text's separators
        # are split: with many rules, most pairs that pass the test above read as no query
        # word. (The last word of a text joins with the first of the next here: the check
        # below leaves such a pair out.)
        joined = list(
            map(
                operator.add,
                map(words.__getitem__, pairs),
                map(words.__getitem__, map((1).__add__, pairs)),
            )
        )
        if self.language not in STEM_BEFORE_FOLD:
            joined = stem_words(joined, self.language)
        ends = list(itertools.accumulate(len(tokens.words) for tokens in texts))
        for i in itertools.compress(pairs, map(self.wanted.__contains__, joined)):
            text = bisect.bisect_right(ends, i)
            local = i - (ends[text - 1] if text else 0)
            tokens = texts[text]
            if local + 1 < len(tokens.words) and tokens.joins(local):
                found[text].append(local)
        return found


NO_COMPOUNDS = CompoundFilter({})


@dataclass(frozen=True, slots=True)
class Meaning:
    """What the words of a document are to a rule set: the words that mean something to it,
    the query prefixes (`return*`) they start, and per language the stems they have that some
    query looks for."""

    words: set[str]
    prefixes: set[str]
    stems: dict[str, set[str]]


class Lexicon:
    """What each word of the news is to a rule set (see `Meaning`), remembered per word.

    A word means something when it starts a query prefix, has a stem some query looks for,
    or is one of `words` (exact query words, the first words of compounds). News vocabulary
    repeats, so before long nearly every word of an article is known to mean nothing, and a
    lookup in C skips it.
    """

    # Past this many remembered words (rare words pile up), memory starts afresh.
    LIMIT = 200_000

    def __init__(
        self, prefixes: Iterable[str], stems: dict[str, Iterable[str]], words: Iterable[str]
    ) -> None:
        by_three: dict[str, list[str]] = {}
        for prefix in sorted(set(prefixes)):  # a query prefix has at least 3 letters
            by_three.setdefault(prefix[:3], []).append(prefix)
        self._by_three = by_three
        # Only languages whose stems depend on the folded word alone.
        self._stems = {
            language: frozenset(values)
            for language, values in stems.items()
            if language not in STEM_BEFORE_FOLD
        }
        self._words = frozenset(words)
        self._forget()

    def _forget(self) -> None:
        # What is remembered of each word is kept in separate maps (the words that mean
        # something; of those, the prefixes they start and their stem per language), so that
        # `read` works on whole sets in C rather than word by word: a large rule set makes
        # dozens of an article's words mean something.
        self._known: set[str] = set()
        self._inert: set[str] = set()
        self._prefixes: dict[str, tuple[str, ...]] = {}
        self._stems_of: dict[str, dict[str, str]] = {language: {} for language in self._stems}

    def __getstate__(self) -> dict[str, object]:
        # Rule sets travel to parser workers: the memory of words stays in each process.
        state = dict(self.__dict__)
        for name in ("_known", "_inert", "_prefixes", "_stems_of"):
            del state[name]
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self._forget()

    def read(self, words: Iterable[str]) -> Meaning:
        if len(self._known) + len(self._inert) > self.LIMIT:
            self._forget()
        distinct = set(words)
        distinct -= self._inert
        for word in distinct - self._known:
            self._learn(word)
        distinct &= self._known
        prefixes = self._prefixes
        started = map(prefixes.__getitem__, prefixes.keys() & distinct)
        stems = {
            language: set(map(stem_of.__getitem__, stem_of.keys() & distinct))
            for language, stem_of in self._stems_of.items()
        }
        return Meaning(distinct, set(itertools.chain.from_iterable(started)), stems)

    def _learn(self, word: str) -> None:
        prefixes = tuple(p for p in self._by_three.get(word[:3], ()) if word.startswith(p))
        stems = [
            (language, stem)
            for language, wanted in self._stems.items()
            if (stem := stem_words([word], language)[0]) in wanted
        ]
        if not prefixes and not stems and word not in self._words:
            self._inert.add(word)
            return
        self._known.add(word)
        if prefixes:
            self._prefixes[word] = prefixes
        for language, stem in stems:
            self._stems_of[language][word] = stem


def read_forms(
    texts: list[FieldText], language: str | None, joinables: list[list[int]]
) -> list[str]:
    """Every form of several texts in one language, stemmed in one batch, in order (words,
    then the compounds `joinables` gives, then heads, text after text) — see `_slice_forms`."""
    words: list[str] = []
    for text, joinable in zip(texts, joinables, strict=True):
        tokens = text.tokens
        tw = tokens.words
        words.extend(tw)
        words.extend([tw[i] + tw[i + 1] for i in joinable])
        words.extend(tokens.heads.values())
    if language not in STEM_BEFORE_FOLD:
        return stem_words(words, language)
    stems = []
    for text, joinable in zip(texts, joinables, strict=True):
        originals = [text.surface(i) for i in range(len(text.tokens.words))]
        stems.extend(stem_originals(originals, language))
        tw = text.tokens.words
        stems.extend([tw[i] + tw[i + 1] for i in joinable])
        stems.extend(text.tokens.heads.values())
    return stems


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
    lexicon: Lexicon | None = None
    _meaning: Meaning | None = None
    _joinables: dict[str | None, list[list[int]]] = field(default_factory=dict)
    _keys: dict[str | None, set[str]] = field(default_factory=dict)
    _words: set[str] | None = None
    _prefixes: dict[str, list[Place]] = field(default_factory=dict)
    _sorted_words: list[str] | None = None
    _flat: dict[str | None, tuple[list[str], list[int]]] = field(default_factory=dict)

    def places(self, language: str | None, value: str) -> list[Place]:
        """Where a form occurs, across all fields (searched in the document-wide list)."""
        if value not in self.keys(language):
            return []
        stems, offsets = self._flat_forms(language)
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
        """All forms of all fields in one reading (with a lexicon, of a stemmed language: those
        some query looks for), for the candidate filter and to skip absent terms."""
        cached = self._keys.get(language)
        if cached is None:
            if language in STEM_BEFORE_FOLD:
                cached = set(self._flat_forms(language)[0])
            else:
                # A form depends on the word alone, so the distinct words are enough; where
                # each form occurs is only worked out if some rule asks (`places`).
                joined = [
                    text.tokens.words[i] + text.tokens.words[i + 1]
                    for text, joinable in zip(self.texts, self.joinables(language), strict=True)
                    for i in joinable
                ]
                meaning = self.meaning()
                if language is None:  # folded words are their own forms (the set is shared)
                    words = self.words()
                    cached = words.union(joined) if joined else words
                elif meaning is not None and language in meaning.stems:
                    cached = meaning.stems[language].union(stem_words(joined, language))
                else:
                    cached = set(stem_words(list(set(self._all_words())), language))
                    cached.update(stem_words(joined, language))
            self._keys[language] = cached
        return cached

    def meaning(self) -> Meaning | None:
        """What the words are to the rule set of the lexicon (None: analyzed without one)."""
        if self._meaning is None and self.lexicon is not None:
            self._meaning = self.lexicon.read(self._all_words())
        return self._meaning

    def joinables(self, language: str | None) -> list[list[int]]:
        """For each text, the word indexes where it reads a two-word compound in a language."""
        cached = self._joinables.get(language)
        if cached is None:
            tokens = [text.tokens for text in self.texts]
            if self.compounds is None:
                cached = [t.joinable for t in tokens]
            else:
                compounds = self.compounds.get(language, NO_COMPOUNDS)
                cached = compounds.compounds(tokens, self.words())
            self._joinables[language] = cached
        return cached

    def _flat_forms(self, language: str | None) -> tuple[list[str], list[int]]:
        """Every form of every text in one list, and where each text's forms start in it."""
        cached = self._flat.get(language)
        if cached is None:
            joinables = self.joinables(language)
            stems = read_forms(self.texts, language, joinables)
            offsets = []
            offset = 0
            for text, joinable in zip(self.texts, joinables, strict=True):
                # Most texts meet no term: a text's forms are cut out when asked.
                text._layout[language] = (stems, offset, joinable)
                offsets.append(offset)
                offset += len(text.tokens.words) + len(joinable) + len(text.tokens.heads)
            cached = self._flat[language] = (stems, offsets)
        return cached

    def words(self) -> set[str]:
        """Distinct folded words (with heads), for prefix terms; with a lexicon, only those
        that mean something to its rule set (no other word can meet a query)."""
        if self._words is None:
            meaning = self.meaning()
            self._words = set(self._all_words()) if meaning is None else meaning.words
        return self._words

    def _all_words(self) -> Iterable[str]:
        """Every word and head of every text (as an iterator in C: no Python step per word)."""
        tokens = [text.tokens for text in self.texts]
        return itertools.chain(
            itertools.chain.from_iterable([t.words for t in tokens]),
            itertools.chain.from_iterable([t.heads.values() for t in tokens if t.heads]),
        )


def analyze(
    article: Article,
    compounds: dict[str | None, CompoundFilter] | None = None,
    lexicon: Lexicon | None = None,
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
    return Document(article, texts, by_field, compounds, lexicon)
