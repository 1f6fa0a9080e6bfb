"""The matcher's shortcuts (scoped candidate test, regex searched beside its partner, verdicts
without evidence for misses) give the verdicts full evaluation gives."""

from __future__ import annotations

from tests.matching.conftest import make_article
from watcher.matching.compile import RuleSet, compile_rules
from watcher.matching.document import analyze
from watcher.matching.evaluate import Evaluation, candidates, evaluate_rule, match_article
from watcher.matching.rule import Location, QuerySource, Rule


def _ruleset(*queries: str) -> RuleSet:
    where = Location("probe.yaml", 1, 1)
    rules = [
        Rule(id=f"r{i}", title="Probe", location=where, any=[QuerySource(q, where)])
        for i, q in enumerate(queries)
    ]
    ruleset, problems = compile_rules(rules, {})
    assert not problems
    return ruleset


def _agree(ruleset: RuleSet, **fields: str) -> list[str]:
    """The ids that match, after checking them against every rule's full verdict."""
    article = make_article(**fields)
    full = match_article(ruleset, article, include_misses=True)
    assert match_article(ruleset, article) == [m for m in full if m.matched]
    return [m.rule_id for m in full if m.matched]


def test_a_title_term_found_only_in_the_body_is_no_candidate() -> None:
    ruleset = _ruleset('title:sanctions OR summary:"trade talks"', "title:retur*")
    article = make_article(title="Markets", summary="Talks go on", body="Trade sanctions; returns.")
    document = analyze(article, ruleset.compounds, ruleset.lexicon)
    assert candidates(ruleset, document) == []
    assert _agree(ruleset, title="Markets", summary="Talks on trade", body="Sanctions.") == []
    assert _agree(ruleset, title="New sanctions", body="Nothing else.") == ["r0"]
    assert _agree(ruleset, title="Trade", summary="Trade talks resume") == ["r0"]
    assert _agree(ruleset, title="Refugees returning") == ["r1"]


def test_a_regex_near_a_word_is_found_in_the_words_text_only() -> None:
    ruleset = _ruleset("border NEAR/3 /secur[a-z]+/", "/secur[a-z]+/ NEAR/3 border")
    hits = _agree(ruleset, title="Security talks", body="Border patrols.\n\nThe border security.")
    assert hits == ["r0", "r1"]
    assert _agree(ruleset, title="Border talks", body="Security forces.") == []


def test_a_rule_the_candidate_test_keeps_gets_the_full_verdict() -> None:
    ruleset = _ruleset("title:sanctions NOT caption:photo")
    article = make_article(title="Sanctions", caption="Photo: agency")
    document = analyze(article, ruleset.compounds, ruleset.lexicon)
    assert candidates(ruleset, document) == [0]
    verdict = evaluate_rule(ruleset.rules[0], Evaluation(document))
    assert not verdict.matched
    assert match_article(ruleset, article) == []


def test_a_regex_found_nowhere_rules_out_its_near_before_the_words_are_read() -> None:
    ruleset = _ruleset("border NEAR/3 /secur[a-z]+/", "/^secur[a-z]+/ NEAR/3 border")
    article = make_article(title="Border talks", body="Patrols at the border.")
    document = analyze(article, ruleset.compounds, ruleset.lexicon)
    assert candidates(ruleset, document) == []
    assert _agree(ruleset, title="Border talks", body="Patrols at the border.") == []
    # Anchors hold at the start of each text, as evaluation searches them.
    assert _agree(ruleset, title="Talks", body="Patrols.\n\nSecurity at the border.") == [
        "r0",
        "r1",
    ]


def test_only_compounds_read_as_some_query_word_are_joined() -> None:
    ruleset = _ruleset("airstrikes", '"air defence"')
    article = make_article(title="Air strikes and air stops", body="Air defence.")
    document = analyze(article, ruleset.compounds, ruleset.lexicon)
    texts = [text.tokens for text in document.texts]
    # `air stops` starts like `airstrikes` (`airst…`) but reads as no query word.
    assert ruleset.compounds["english"].compounds(texts, document.words()) == [[0], [0]]
    assert _agree(ruleset, title="Air strikes and air stops") == ["r0"]
    assert _agree(ruleset, title="Airdefence talks", body="Air-defence units.") == ["r1"]
