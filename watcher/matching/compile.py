"""All rules → one index (DESIGN §5 "Speed"): term → postings of rule groups, prefix → postings.

A rule becomes a candidate for an article only when every one of its required groups has a
key in the article (the counting filter of research/rules.md §4.3); only candidates are then
evaluated exactly.
"""

from __future__ import annotations

import difflib
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field

import re2

from watcher.matching import query as q
from watcher.matching.document import CompoundFilter, Lexicon
from watcher.matching.nodes import (
    AllOf,
    AnyOf,
    CNode,
    Leaf,
    Matcher,
    NoneOf,
    Within,
    required_groups,
)
from watcher.matching.rule import Location, Problem, QuerySource, Rule, RuleError, TermList
from watcher.text import (
    STEM_BEFORE_FOLD,
    UnknownLanguageError,
    fold,
    stem_originals,
    stem_words,
    stemmer_name,
    tokenize,
)


@dataclass(slots=True)
class CompiledRule:
    rule: Rule
    all: list[CNode]
    any: list[CNode]
    none: list[CNode]


@dataclass(slots=True)
class RuleSet:
    """Compiled, enabled rules plus the index that picks candidates for an article."""

    rules: list[CompiledRule] = field(default_factory=list)
    form_postings: dict[str | None, dict[str, list[tuple[int, int]]]] = field(default_factory=dict)
    prefix_postings: dict[str, list[tuple[int, int]]] = field(default_factory=dict)
    lexicon: Lexicon = field(default_factory=lambda: Lexicon((), {}, ()))
    full_masks: list[int] = field(default_factory=list)
    any_masks: list[tuple[int, ...]] = field(default_factory=list)
    always: list[int] = field(default_factory=list)
    compounds: dict[str | None, CompoundFilter] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.rules)

    def by_id(self, rule_id: str) -> CompiledRule | None:
        return next((r for r in self.rules if r.rule.id == rule_id), None)


def _error(location: Location, offset: int, message: str) -> RuleError:
    line, column = location.at(offset)
    return RuleError(Problem(location.path, line, column, message))


class Compiler:
    """Turns parsed queries into leaves and nodes; one per rule set, so leaves are shared."""

    def __init__(self, lists: dict[str, TermList]) -> None:
        self.lists = lists
        self._leaves: dict[tuple, Leaf] = {}
        self._parsed: dict[str, q.ParsedQuery] = {}
        self.warnings: list[Problem] = []

    def parse(self, source: QuerySource) -> q.Node:
        parsed = self._parsed.get(source.text)
        if parsed is None:
            try:
                parsed = q.parse_query(source.text)
            except q.QueryError as error:
                message = error.message + _yaml_comment_hint(error, source)
                raise _error(source.location, error.column, message) from None
            self._parsed[source.text] = parsed
        for warning in parsed.warnings:
            line, column = source.location.at(warning.column)
            self.warnings.append(
                Problem(source.location.path, line, column, warning.message, "warning")
            )
        return parsed.root

    def compile_query(self, source: QuerySource, rule: Rule) -> CNode:
        language = _language(rule)
        return self._node(self.parse(source), rule.fields, language, source, ())

    def _node(
        self,
        node: q.Node,
        fields: tuple[str, ...],
        language: str | None,
        source: QuerySource,
        stack: tuple[str, ...],
    ) -> CNode:
        if isinstance(node, q.Term):
            return self._leaf(node, fields, language, source, stack)
        if isinstance(node, q.ListRef):
            return self._list(node, fields, language, source, stack)
        if isinstance(node, q.Scoped):
            return self._node(node.child, (node.field,), language, source, stack)
        if isinstance(node, q.And):
            return AllOf(
                tuple(self._node(c, fields, language, source, stack) for c in node.children)
            )
        if isinstance(node, q.Or):
            return AnyOf(
                tuple(self._node(c, fields, language, source, stack) for c in node.children)
            )
        if isinstance(node, q.Not):
            return NoneOf(self._node(node.child, fields, language, source, stack))
        assert isinstance(node, q.Near)
        return Within(
            self._node(node.left, fields, language, source, stack),
            self._node(node.right, fields, language, source, stack),
            node.distance,
            node.ordered,
        )

    def _list(
        self,
        ref: q.ListRef,
        fields: tuple[str, ...],
        language: str | None,
        source: QuerySource,
        stack: tuple[str, ...],
    ) -> CNode:
        term_list = self.lists.get(ref.name)
        if term_list is None:
            raise _error(
                source.location,
                ref.column,
                f"unknown list @{ref.name}" + _list_hint(ref.name, self.lists),
            )
        if ref.name in stack:
            cycle = " → ".join(f"@{name}" for name in (*stack, ref.name))
            raise _error(source.location, ref.column, f"list cycle: {cycle}")
        children = []
        for entry in term_list.entries:
            root = self.parse(entry)
            children.append(self._node(root, fields, language, entry, (*stack, ref.name)))
        return children[0] if len(children) == 1 else AnyOf(tuple(children))

    def _leaf(
        self,
        term: q.Term,
        fields: tuple[str, ...],
        language: str | None,
        source: QuerySource,
        stack: tuple[str, ...],
    ) -> Leaf:
        label = term.text if not stack else f"{term.text} (@{stack[-1]})"
        if term.kind == "regex":
            signature: tuple = ("regex", term.value, fields, label)
            if signature not in self._leaves:
                self._leaves[signature] = Leaf(
                    len(self._leaves), label, fields, regex=_regex(term, source)
                )
            return self._leaves[signature]
        alternatives = _alternatives(term, language, source)
        signature = ("words", alternatives, fields, label)
        if signature not in self._leaves:
            self._leaves[signature] = Leaf(len(self._leaves), label, fields, alternatives)
        return self._leaves[signature]


def _language(rule: Rule) -> str | None:
    try:
        return stemmer_name(rule.language)
    except UnknownLanguageError as error:
        raise RuleError(
            Problem(rule.location.path, rule.location.line, rule.location.column, str(error))
        ) from None


def _regex(term: q.Term, source: QuerySource):
    options = re2.Options()
    options.log_errors = False
    options.case_sensitive = False
    try:
        return re2.compile(term.value, options)
    except re2.error as error:
        detail = (
            error.args[0].decode()
            if error.args and isinstance(error.args[0], bytes)
            else str(error)
        )
        raise _error(
            source.location,
            term.column,
            f"invalid regular expression /{term.value}/: {detail} (RE2 syntax)",
        ) from None


def _stem(folded: list[str], originals: list[str], language: str | None) -> list[str]:
    if language in STEM_BEFORE_FOLD:
        return stem_originals(originals, language)
    return stem_words(folded, language)


def _alternatives(
    term: q.Term, language: str | None, source: QuerySource
) -> tuple[tuple[Matcher, ...], ...]:
    value = term.value
    last_is_prefix = term.kind == "prefix" or (
        term.kind == "phrase" and value.rstrip().endswith("*")
    )
    folded = fold(value.rstrip().rstrip("*") if last_is_prefix else value)
    tokens = tokenize(folded.folded)
    if not tokens.words:
        raise _error(source.location, term.column, f"{term.text} has no letters or digits to match")
    words = tokens.words
    originals = [
        unicodedata.normalize("NFKC", value[slice(*folded.original_span(start, end))])
        for start, end in tokens.spans()
    ]
    if term.kind == "case":
        return (
            tuple(
                Matcher("case", w, surface=original, folded=w)
                for w, original in zip(words, originals, strict=True)
            ),
        )
    exact = term.kind in ("exact", "exact_phrase")
    word_language = None if exact else language
    stems = _stem(words, originals, word_language)
    matchers = [
        Matcher("form", s, word_language, folded=w) for s, w in zip(stems, words, strict=True)
    ]
    if last_is_prefix:
        if len(words[-1]) < 3:
            raise _error(
                source.location,
                term.column,
                f"{term.text}: a prefix needs at least 3 letters before '*'",
            )
        matchers[-1] = Matcher("prefix", words[-1], folded=words[-1])
    alternatives = [tuple(matchers)]
    # Compounds: `counter-terrorism` also meets `counterterrorism`, and the reverse.
    for i in range(len(matchers) - 1):
        a, b = matchers[i], matchers[i + 1]
        if a.kind == b.kind == "form":
            joined = a.folded + b.folded
            joined_stem = _stem([joined], [joined], word_language)[0]
            merged = Matcher("form", joined_stem, word_language, folded=joined)
            alternatives.append((*matchers[:i], merged, *matchers[i + 2 :]))
    return tuple(alternatives)


def _yaml_comment_hint(error: q.QueryError, source: QuerySource) -> str:
    if "expected" in error.message and source.plain and "#" in _source_line(source):
        return (
            "; note: ' #' starts a YAML comment, so the rest of the line was dropped: "
            "quote the query or use a '>-' block"
        )
    return ""


def _source_line(source: QuerySource) -> str:
    try:
        with open(source.location.path, encoding="utf-8-sig") as handle:
            for number, line in enumerate(handle, 1):
                if number == source.location.line:
                    return line[source.location.column - 1 :]
    except OSError:
        return ""
    return ""


def _list_hint(name: str, lists: dict[str, TermList]) -> str:
    close = difflib.get_close_matches(name, list(lists), n=1)
    if close:
        return f" (did you mean @{close[0]}?)"
    if not lists:
        return " (no lists are defined: lists live in rules/_*.yaml)"
    return ""


def _matchers(node: CNode):
    if isinstance(node, Leaf):
        for alternative in node.alternatives:
            yield from alternative
    elif isinstance(node, AllOf | AnyOf):
        for child in node.children:
            yield from _matchers(child)
    elif isinstance(node, NoneOf):
        yield from _matchers(node.child)
    elif isinstance(node, Within):
        yield from _matchers(node.left)
        yield from _matchers(node.right)


def compound_filters(compiled: list[CompiledRule]) -> dict[str | None, CompoundFilter]:
    """Per reading, the query words a two-word compound in a text could meet."""
    by_language: dict[str | None, list[str]] = defaultdict(list)
    # What each reading looks up (as `evaluate._starts` does: a `case` word among the folded
    # words), so that a compound read as none of it is left out.
    wanted: dict[str | None, set[str]] = defaultdict(set)
    for rule in compiled:
        for node in (*rule.all, *rule.any, *rule.none):
            for matcher in _matchers(node):
                if matcher.kind == "form":
                    by_language[matcher.language].append(matcher.folded)
                    wanted[matcher.language].add(matcher.value)
                elif matcher.kind == "case":
                    wanted[None].add(matcher.value)
    return {
        language: CompoundFilter.of(words, language, wanted[language])
        for language, words in by_language.items()
    }


def lexicon(compiled: list[CompiledRule], compounds: dict[str | None, CompoundFilter]) -> Lexicon:
    """Every word of every query (not only the indexed ones), as the lexicon needs them."""
    prefixes: list[str] = []
    stems: dict[str, list[str]] = defaultdict(list)
    words: list[str] = [first for f in compounds.values() for first in f.follows]
    for rule in compiled:
        for node in (*rule.all, *rule.any, *rule.none):
            for matcher in _matchers(node):
                if matcher.kind == "prefix":
                    prefixes.append(matcher.value)
                elif matcher.kind == "form" and matcher.language is not None:
                    stems[matcher.language].append(matcher.value)
                else:  # an exact or case-sensitive word: the folded word itself
                    words.append(matcher.value)
    return Lexicon(prefixes, stems, words)


def build_index(compiled: list[CompiledRule]) -> RuleSet:
    compounds = compound_filters(compiled)
    ruleset = RuleSet(rules=compiled, compounds=compounds, lexicon=lexicon(compiled, compounds))
    form_postings: dict[str | None, dict[str, list[tuple[int, int]]]] = defaultdict(
        lambda: defaultdict(list)
    )
    prefix_postings: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for index, rule in enumerate(compiled):
        if not rule.rule.enabled:
            ruleset.full_masks.append(-1)
            ruleset.any_masks.append(())
            continue
        groups = [g for node in rule.all for g in required_groups(node)]
        all_mask = (1 << len(groups)) - 1
        # Each `any` query keeps its own groups: the rule is a candidate when one of them is
        # complete, not merely when some key of some query turns up.
        any_masks: list[int] = []
        for node in rule.any:
            query_groups = required_groups(node)
            if not query_groups:  # this query can hold on any article: no filter on `any`
                any_masks = []
                break
            start = len(groups)
            groups.extend(query_groups)
            any_masks.append(((1 << len(groups)) - 1) ^ ((1 << start) - 1))
        if not any_masks:
            del groups[all_mask.bit_length() :]
        ruleset.full_masks.append(all_mask)
        ruleset.any_masks.append(tuple(any_masks))
        if not groups:
            ruleset.always.append(index)
        for bit_index, group in enumerate(groups):
            bit = 1 << bit_index
            for key in group:
                if key[0] == "prefix":
                    prefix_postings[key[1]].append((index, bit))
                else:
                    form_postings[key[1]][key[2]].append((index, bit))
    ruleset.form_postings = {lang: dict(p) for lang, p in form_postings.items()}
    ruleset.prefix_postings = dict(prefix_postings)
    return ruleset


def compile_rules(rules: list[Rule], lists: dict[str, TermList]) -> tuple[RuleSet, list[Problem]]:
    """Compile every rule it can; a rule with a problem is left out and its problem reported."""
    compiler = Compiler(lists)
    compiled: list[CompiledRule] = []
    problems: list[Problem] = []
    for term_list in lists.values():
        for entry in term_list.entries:
            try:
                compiler.parse(entry)
            except RuleError as error:
                problems.append(error.problem)
    for rule in rules:
        try:
            compiled.append(
                CompiledRule(
                    rule,
                    [compiler.compile_query(s, rule) for s in rule.all],
                    [compiler.compile_query(s, rule) for s in rule.any],
                    [compiler.compile_query(s, rule) for s in rule.none],
                )
            )
        except RuleError as error:
            problems.append(error.problem)
    problems.extend(_unique(compiler.warnings))
    return build_index(compiled), problems


def _unique(problems: list[Problem]) -> list[Problem]:
    return list(dict.fromkeys(problems))
