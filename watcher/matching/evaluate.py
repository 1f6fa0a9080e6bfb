"""Article → matches: candidates from the index, then exact evaluation with evidence and score."""

from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass

from pydantic import BaseModel

from watcher.article import Article
from watcher.matching.compile import CompiledRule, RuleSet
from watcher.matching.document import Document, FieldText, Place, analyze
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

    def __missing__(self, language: str | None) -> set[str]:
        keys = self[language] = self.document.keys(language)
        return keys


class Evaluation:
    """Evaluates queries on one document, remembering each leaf's occurrences."""

    def __init__(self, document: Document) -> None:
        self.document = document
        meaning = document.meaning()
        # The query prefixes that start some word of the document, when known.
        self.prefixes = meaning.prefixes if meaning is not None else None
        self.forms = _Forms(document)
        self._memo: dict[int, list[Occurrence]] = {}

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
        for alternative in leaf.alternatives:
            # Most terms are absent: a set lookup per word spares the search.
            if not _may_read(alternative, self.forms, self.prefixes):
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

    def _regex(self, leaf: Leaf) -> list[Occurrence]:
        found = []
        for name in leaf.fields:
            for text in self.document.by_field.get(name, ()):
                for m in leaf.regex.finditer(text.folded.folded):
                    first, last = text.positions_of(m.start(), m.end())
                    hit = (leaf, text, m.start(), m.end())
                    found.append(Occurrence(text, first, last, (hit,)))
        return found

    def _within(self, node: Within) -> list[Occurrence]:
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
    rule = compiled.rule
    hits: list[Hit] = []
    matched = True
    for node in compiled.all:
        node_hits = evaluation.holds(node)
        if node_hits is None:
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
        matched = matched and any_held
    if matched:
        for node in compiled.none:
            if evaluation.holds(node) is not None:
                matched = False
                break
    evidence = _evidence(hits)
    score = _score(hits)
    return Match(
        rule_id=rule.id,
        rule_title=rule.title,
        severity=rule.severity,
        score=score,
        matched=matched and score >= rule.min_score,
        evidence=evidence,
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


def candidates(ruleset: RuleSet, document: Document) -> list[int]:
    """Rules that may match: every required group has a key in the document (or the rule has
    no groups), and every term some query needs has its words in the document."""
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
    chosen = [
        i
        for i, mask in masks.items()
        if mask & full[i] == full[i]
        and (not any_masks[i] or any(mask & m == m for m in any_masks[i]))
    ]
    chosen.extend(ruleset.always)
    forms = _Forms(document)
    return sorted(i for i in chosen if _may_match(ruleset.rules[i], forms, prefixes))


def _may_match(compiled: CompiledRule, forms: _Forms, prefixes: set[str]) -> bool:
    """Whether every `all` query and some `any` query may hold: a necessary test on sets of
    words, far cheaper than finding where the terms occur (`none` cannot make a rule match)."""
    return all(_may_hold(node, forms, prefixes) for node in compiled.all) and (
        not compiled.any or any(_may_hold(node, forms, prefixes) for node in compiled.any)
    )


def _may_hold(node: CNode, forms: _Forms, prefixes: set[str]) -> bool:
    # Plain loops, not any() or all() over a generator: this runs for most articles, and a
    # generator costs a frame per call (about twice the time here).
    if isinstance(node, Leaf):
        if node.regex is not None:
            return True
        for alternative in node.alternatives:  # noqa: SIM110
            if _may_read(alternative, forms, prefixes):
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


def match_article(
    ruleset: RuleSet, article: Article, *, include_misses: bool = False
) -> list[Match]:
    """Matches of the enabled rules on an article; with include_misses, every rule's verdict."""
    document = analyze(article, ruleset.compounds, ruleset.lexicon)
    evaluation = Evaluation(document)
    if include_misses:
        return [evaluate_rule(r, evaluation) for r in ruleset.rules if r.rule.enabled]
    results = []
    for index in candidates(ruleset, document):
        verdict = evaluate_rule(ruleset.rules[index], evaluation)
        if verdict.matched:
            results.append(verdict)
    return results
