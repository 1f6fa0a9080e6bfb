"""Article → matches: candidates from the index, then exact evaluation with evidence and score."""

from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass
from typing import TypeGuard

from pydantic import BaseModel

from watcher.article import Article
from watcher.matching.compile import CompiledRule, RuleSet
from watcher.matching.document import Document, FieldText, Place, analyze, read_forms
from watcher.matching.nodes import AllOf, AnyOf, CNode, Leaf, Matcher, NoneOf, Within

FIELD_WEIGHTS = {
    "title": 3.0,
    "summary": 2.0,
    "caption": 1.0,
    "body": 1.0,
    "section": 1.0,
    "source": 1.0,
}
_FIELD_ORDER = {name: i for i, name in enumerate(FIELD_WEIGHTS)}


class Evidence(BaseModel):
    """One matched term: where it is in the original field text and which query term it met."""

    field: str
    block: int | None = None
    start: int
    end: int
    text: str
    term: str


class Match(BaseModel):
    """A rule's verdict on an article."""

    rule_id: str
    rule_title: str
    severity: str
    score: float
    matched: bool
    evidence: list[Evidence]


# A hit of one leaf: (leaf, field text, folded start, folded end).
Hit = tuple[Leaf, FieldText, int, int]


@dataclass(frozen=True, slots=True)
class Occurrence:
    """Where a positional query holds: tokens first..last of one field text, and its hits."""

    text: FieldText
    first: int
    last: int
    hits: tuple[Hit, ...]


class _Forms(dict[str | None, set[str]]):
    """`Document.keys` by language, fetched on first use and a plain dict lookup after that:
    `_may_read` looks up a few dozen words per article."""

    def __init__(self, document: Document) -> None:
        super().__init__()
        self.document = document
        self._scoped: dict[tuple[tuple[str, ...], str | None], set[str]] = {}
        self._scoped_words: dict[tuple[str, ...], list[str]] = {}
        self._regex_found: dict[int, bool] = {}
        self._joined: dict[tuple[str, ...], str] = {}

    def __missing__(self, language: str | None) -> set[str]:
        keys = self[language] = self.document.keys(language)
        return keys

    def scoped(self, fields: tuple[str, ...], language: str | None) -> set[str]:
        """Every form the texts of `fields` may read in a language. Every compound counts, not
        only those the compound filter keeps: a superset is all a necessary test needs, and
        the texts' own `forms` (which evaluation reads) are left alone."""
        key = (fields, language)
        found = self._scoped.get(key)
        if found is None:
            texts = self._texts(fields)
            joinables = [text.tokens.joinable for text in texts]
            found = self._scoped[key] = set(read_forms(texts, language, joinables))
        return found

    def scoped_words(self, fields: tuple[str, ...]) -> list[str]:
        """The folded words and heads of the texts of `fields`, for prefix terms."""
        found = self._scoped_words.get(fields)
        if found is None:
            found = self._scoped_words[fields] = [
                word
                for text in self._texts(fields)
                for word in (*text.tokens.words, *text.tokens.heads.values())
            ]
        return found

    def regex_found(self, leaf: Leaf) -> bool:
        """Whether a /regex/ leaf may match in the texts of its fields: a search in C, where
        finding a regex near a word (`NEAR`) would read the whole document."""
        found = self._regex_found.get(leaf.id)
        if found is None:
            search = leaf.regex.search
            if not _anchored(leaf.regex.pattern):
                # Each call costs microseconds: search the texts as one, joined by a line break.
                # Without anchors a match in one text is a match there too (`\b` sees the line
                # break as it sees a text's edge); a match across two texts only lets the rule
                # through to evaluation, which searches text by text.
                texts = self._joined.get(leaf.fields)
                if texts is None:
                    texts = self._joined[leaf.fields] = "\n".join(
                        text.folded.folded for text in self._texts(leaf.fields)
                    )
                found = search(texts) is not None
            else:
                found = any(
                    search(text.folded.folded) is not None for text in self._texts(leaf.fields)
                )
            self._regex_found[leaf.id] = found
        return found

    def _texts(self, fields: tuple[str, ...]) -> list[FieldText]:
        by_field = self.document.by_field
        return [text for name in fields for text in by_field.get(name, ())]


class Evaluation:
    """Evaluates queries on one document, remembering each leaf's occurrences."""

    def __init__(self, document: Document) -> None:
        self.document = document
        meaning = document.meaning()
        # The query prefixes that start some word of the document, when known.
        self.prefixes = meaning.prefixes if meaning is not None else None
        self.forms = _Forms(document)
        self._memo: dict[int, list[Occurrence]] = {}
        # A regex leaf's occurrences by (leaf id, text index): see `_within`.
        self._regex_memo: dict[tuple[int, int], list[Occurrence]] = {}

    # -- positional: where does it occur -------------------------------------------------

    def occurrences(self, node: CNode) -> list[Occurrence]:
        if isinstance(node, Leaf):
            found = self._memo.get(node.id)
            if found is None:
                found = self._memo[node.id] = self._leaf(node)
            return found
        if isinstance(node, AnyOf):
            return [o for child in node.children for o in self.occurrences(child)]
        if isinstance(node, Within):
            return self._within(node)
        raise TypeError(f"{type(node).__name__} has no positions")

    def _leaf(self, leaf: Leaf) -> list[Occurrence]:
        if leaf.regex is not None:
            return self._regex(leaf)
        fields = leaf.fields
        spans: dict[tuple[int, int, int], FieldText] = {}
        scoped = _scoped(leaf)
        for alternative in leaf.alternatives:
            # Most terms are absent: a set lookup per word spares the search.
            if not _may_read(alternative, self.forms, self.prefixes):
                continue
            if scoped and not _may_read_in(alternative, fields, self.forms):
                continue
            for text, first, end in _starts(self.document, alternative[0]):
                if text.field in fields:
                    for last in _continue(text, alternative, 1, end):
                        spans[(text.index, first, last)] = text
        if not spans:
            return []
        found = []
        for key in sorted(spans):
            text, (_, first, last) = spans[key], key
            hit = (leaf, text, *text.folded_span(first, last))
            found.append(Occurrence(text, first, last, (hit,)))
        return found

    def _regex(self, leaf: Leaf, only: set[int] | None = None) -> list[Occurrence]:
        """Where a /regex/ matches, in every text of its fields or (`only`) in the texts of
        those indexes."""
        found = []
        for name in leaf.fields:
            for text in self.document.by_field.get(name, ()):
                if only is None or text.index in only:
                    found.extend(self._regex_in(leaf, text))
        return found

    def _regex_in(self, leaf: Leaf, text: FieldText) -> list[Occurrence]:
        key = (leaf.id, text.index)
        found = self._regex_memo.get(key)
        if found is None:
            found = self._regex_memo[key] = []
            for m in leaf.regex.finditer(text.folded.folded):
                first, last = text.positions_of(m.start(), m.end())
                hit = (leaf, text, m.start(), m.end())
                found.append(Occurrence(text, first, last, (hit,)))
        return found

    def _within(self, node: Within) -> list[Occurrence]:
        # A /regex/ is searched text by text, a word is looked up once per document: find the
        # other side first, and search the regex only in the texts where that side occurs (a
        # pair never spans two texts, so nothing is lost).
        if _is_regex(node.right) and node.right.id not in self._memo:
            left = self.occurrences(node.left)
            if not left:
                return []
            right = self._regex(node.right, {a.text.index for a in left})
        elif _is_regex(node.left) and node.left.id not in self._memo:
            right = self.occurrences(node.right)
            if not right:
                return []
            left = self._regex(node.left, {b.text.index for b in right})
        else:
            left = self.occurrences(node.left)
            if not left:
                return []
            right = self.occurrences(node.right)
        found = []
        for a in left:
            for b in right:
                if a.text is not b.text:
                    continue
                if a.last < b.first:
                    gap = b.first - a.last - 1
                elif b.last < a.first and not node.ordered:
                    gap = a.first - b.last - 1
                else:
                    continue
                if gap <= node.distance:
                    found.append(
                        Occurrence(
                            a.text, min(a.first, b.first), max(a.last, b.last), a.hits + b.hits
                        )
                    )
        return found

    # -- boolean: does it hold, and on what evidence ---------------------------------------

    def holds(self, node: CNode) -> list[Hit] | None:
        """The hits that make `node` true, or None when it is false."""
        if isinstance(node, AllOf):
            hits: list[Hit] = []
            for child in node.children:
                child_hits = self.holds(child)
                if child_hits is None:
                    return None
                hits.extend(child_hits)
            return hits
        if isinstance(node, AnyOf):
            result: list[Hit] | None = None
            for child in node.children:
                child_hits = self.holds(child)
                if child_hits is not None:
                    result = (result or []) + child_hits
            return result
        if isinstance(node, NoneOf):
            return None if self.holds(node.child) is not None else []
        found = self.occurrences(node)
        if not found:
            return None
        return [hit for occurrence in found for hit in occurrence.hits]


def _starts(document: Document, matcher: Matcher) -> list[Place]:
    if matcher.kind == "prefix":
        return document.prefixed(matcher.value)
    language = matcher.language if matcher.kind == "form" else None
    places = document.places(language, matcher.value)
    if matcher.kind == "case":
        return [
            (text, s, e) for text, s, e in places if s == e and text.surface(s) == matcher.surface
        ]
    return places


def _continue(text: FieldText, matchers: tuple[Matcher, ...], index: int, end: int) -> list[int]:
    if index == len(matchers):
        return [end]
    position = end + 1
    if position >= len(text.tokens.words):
        return []
    ends: list[int] = []
    for next_end in _ends_at(text, matchers[index], position):
        ends.extend(_continue(text, matchers, index + 1, next_end))
    return ends


def _ends_at(text: FieldText, matcher: Matcher, position: int) -> list[int]:
    if matcher.kind == "prefix":
        head = text.tokens.heads.get(position)
        ok = text.tokens.words[position].startswith(matcher.value) or (
            head is not None and head.startswith(matcher.value)
        )
        return [position] if ok else []
    if matcher.kind == "case":
        ok = (
            text.forms(None).main[position] == matcher.value
            and text.surface(position) == matcher.surface
        )
        return [position] if ok else []
    return text.forms(matcher.language).ends_at(position, matcher.value)


def evaluate_rule(compiled: CompiledRule, evaluation: Evaluation) -> Match:
    """The rule's verdict: all `all` hold, one `any` holds (if given), no `none` holds, score."""
    hits, matched = _gather(compiled, evaluation, stop_early=False)
    return _verdict(compiled, hits, matched)


def _match_hits(compiled: CompiledRule, evaluation: Evaluation) -> list[Hit] | None:
    """The hits of a rule that matches (as `evaluate_rule` gathers them), None when it does
    not: a rule that fails stops at the first query that decides, and costs no evidence."""
    hits, matched = _gather(compiled, evaluation, stop_early=True)
    if not matched or _score(hits) < compiled.rule.min_score:
        return None
    return hits


def _gather(
    compiled: CompiledRule, evaluation: Evaluation, *, stop_early: bool
) -> tuple[list[Hit], bool]:
    """The hits of the rule's `all` and `any` queries and whether its queries hold. With
    `stop_early`, the first query that decides a miss ends it (a verdict for `--all` still
    shows every hit)."""
    hits: list[Hit] = []
    matched = True
    for node in compiled.all:
        node_hits = evaluation.holds(node)
        if node_hits is None:
            if stop_early:
                return hits, False
            matched = False
        else:
            hits.extend(node_hits)
    if compiled.any:
        any_held = False
        for node in compiled.any:
            node_hits = evaluation.holds(node)
            if node_hits is not None:
                any_held = True
                hits.extend(node_hits)
        if not any_held:
            if stop_early:
                return hits, False
            matched = False
    if matched:
        for node in compiled.none:
            if evaluation.holds(node) is not None:
                return hits, False
    return hits, matched


def _verdict(compiled: CompiledRule, hits: list[Hit], matched: bool) -> Match:
    rule = compiled.rule
    score = _score(hits)
    return Match(
        rule_id=rule.id,
        rule_title=rule.title,
        severity=rule.severity,
        score=score,
        matched=matched and score >= rule.min_score,
        evidence=_evidence(hits),
    )


def _score(hits: list[Hit]) -> float:
    """Each matched leaf counts once per field it occurs in, weighted by the field."""
    seen = {(leaf.id, text.field) for leaf, text, _, _ in hits}
    return sum(FIELD_WEIGHTS[field] for _, field in seen)


def _evidence(hits: list[Hit]) -> list[Evidence]:
    unique: dict[tuple[int, int, int, int], Evidence] = {}
    for leaf, text, fstart, fend in hits:
        key = (leaf.id, id(text), fstart, fend)
        if key in unique:
            continue
        start, end = text.folded.original_span(fstart, fend)
        unique[key] = Evidence(
            field=text.field,
            block=text.block,
            start=start,
            end=end,
            text=text.original[start:end],
            term=leaf.term,
        )
    return sorted(
        unique.values(),
        key=lambda e: (_FIELD_ORDER[e.field], e.block or 0, e.start, e.end, e.term),
    )


def candidates(ruleset: RuleSet, document: Document, forms: _Forms | None = None) -> list[int]:
    """Rules that may match: every required group has a key in the document (or the rule has
    no groups), and every term some query needs has its words in the document (`forms`: the
    evaluation's, so that what the test looks up serves evaluation too)."""
    meaning = document.meaning() or ruleset.lexicon.read(document.words())
    prefixes = meaning.prefixes
    masks: dict[int, int] = {}
    for language, postings in ruleset.form_postings.items():
        keys = document.keys(language)
        for key in keys & postings.keys() if len(keys) < len(postings) else postings.keys() & keys:
            for rule_index, bit in postings[key]:
                masks[rule_index] = masks.get(rule_index, 0) | bit
    for prefix in prefixes:
        for rule_index, bit in ruleset.prefix_postings.get(prefix, ()):
            masks[rule_index] = masks.get(rule_index, 0) | bit
    full = ruleset.full_masks
    any_masks = ruleset.any_masks
    chosen = []
    # Plain loops, no any() over a generator: dozens of rules have some key in an article.
    for i, mask in masks.items():
        required = full[i]
        if mask & required != required:
            continue
        options = any_masks[i]
        if options:
            for option in options:
                if mask & option == option:
                    break
            else:
                continue
        chosen.append(i)
    chosen.extend(ruleset.always)
    if forms is None or forms.document is not document:
        forms = _Forms(document)
    return sorted(i for i in chosen if _may_match(ruleset.rules[i], forms, prefixes))


def _may_match(compiled: CompiledRule, forms: _Forms, prefixes: set[str]) -> bool:
    """Whether every `all` query and some `any` query may hold: a necessary test on sets of
    words, far cheaper than finding where the terms occur (`none` cannot make a rule match)."""
    # Plain loops, as in `_may_hold`: this runs for every rule the index lets through.
    for node in compiled.all:
        if not _may_hold(node, forms, prefixes):
            return False
    if not compiled.any:
        return True
    for node in compiled.any:  # noqa: SIM110
        if _may_hold(node, forms, prefixes):
            return True
    return False


def _may_hold(node: CNode, forms: _Forms, prefixes: set[str]) -> bool:
    # Plain loops, not any() or all() over a generator: this runs for most articles, and a
    # generator costs a frame per call (about twice the time here).
    if isinstance(node, Leaf):
        if node.regex is not None:
            return forms.regex_found(node)
        scoped = _scoped(node)
        for alternative in node.alternatives:
            if _may_read(alternative, forms, prefixes) and (
                not scoped or _may_read_in(alternative, node.fields, forms)
            ):
                return True
        return False
    if isinstance(node, AnyOf):
        for child in node.children:  # noqa: SIM110
            if _may_hold(child, forms, prefixes):
                return True
        return False
    if isinstance(node, AllOf):
        for child in node.children:  # noqa: SIM110
            if not _may_hold(child, forms, prefixes):
                return False
        return True
    if isinstance(node, Within):
        return _may_hold(node.left, forms, prefixes) and _may_hold(node.right, forms, prefixes)
    return True  # NOT: whether its child holds does not bound whether it holds


def _may_read(
    alternative: tuple[Matcher, ...], forms: _Forms, prefixes: Container[str] | None
) -> bool:
    """Whether every word of the alternative has its form (or, when `prefixes` is known, its
    prefix) in the document."""
    for matcher in alternative:
        if matcher.kind == "prefix":
            if prefixes is not None and matcher.value not in prefixes:
                return False
        # A `case` word is looked up among the folded words, like an exact (None) form.
        elif matcher.value not in forms[matcher.language]:
            return False
    return True


def _scoped(leaf: Leaf) -> bool:
    """Whether a leaf is worth the test of `_may_read_in`: its fields leave out the body (a
    `title:` term), so they are a few short texts, and the words of the whole document say
    little about them."""
    return "body" not in leaf.fields


def _may_read_in(alternative: tuple[Matcher, ...], fields: tuple[str, ...], forms: _Forms) -> bool:
    """Whether every word of the alternative has its form (or, for a prefix, a word it
    starts) in the texts of `fields`: `_may_read` for the texts a scoped term searches."""
    for matcher in alternative:
        if matcher.kind == "prefix":
            value = matcher.value
            if not any(word.startswith(value) for word in forms.scoped_words(fields)):
                return False
        elif matcher.value not in forms.scoped(
            fields, matcher.language if matcher.kind == "form" else None
        ):
            return False
    return True


def _anchored(pattern: str) -> bool:
    """Whether a regex may tie a match to where a text starts or ends (`^`, `$`, `\\A`, `\\z`;
    a literal `\\^` or a `[^…]` counts too, to be safe): a pattern without them matches the
    same inside a longer text."""
    return "^" in pattern or "$" in pattern or "\\A" in pattern or "\\z" in pattern


def _is_regex(node: CNode) -> TypeGuard[Leaf]:
    return isinstance(node, Leaf) and node.regex is not None


def match_article(
    ruleset: RuleSet, article: Article, *, include_misses: bool = False
) -> list[Match]:
    """Matches of the enabled rules on an article; with include_misses, every rule's verdict."""
    document = analyze(article, ruleset.compounds, ruleset.lexicon)
    evaluation = Evaluation(document)
    if include_misses:
        return [evaluate_rule(r, evaluation) for r in ruleset.rules if r.rule.enabled]
    results = []
    for index in candidates(ruleset, document, evaluation.forms):
        compiled = ruleset.rules[index]
        hits = _match_hits(compiled, evaluation)
        if hits is not None:
            results.append(_verdict(compiled, hits, True))
    return results
