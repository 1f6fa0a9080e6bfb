"""The rule set's lexicon: what it remembers about words stays in the process that learned it."""

from __future__ import annotations

import pickle

from tests.matching.conftest import make_article
from watcher.matching.compile import compile_rules
from watcher.matching.evaluate import match_article
from watcher.matching.rule import Location, QuerySource, Rule


def test_a_pickled_rule_set_matches_alike_without_the_words_it_learned() -> None:
    where = Location("probe.yaml", 1, 1)
    rule = Rule(
        id="probe",
        title="Probe",
        location=where,
        any=[QuerySource('return* NEAR/5 refugees OR "air strikes" OR =security', where)],
    )
    ruleset, problems = compile_rules([rule], {})
    assert not problems
    article = make_article(title="Refugees return home", body="Border security and air strikes.")
    before = match_article(ruleset, article)
    size = len(pickle.dumps(ruleset))
    for word in range(1000):  # news vocabulary the lexicon remembers
        match_article(ruleset, make_article(title=f"word{word} and more"))
    assert len(pickle.dumps(ruleset)) == size
    copy = pickle.loads(pickle.dumps(ruleset))
    assert match_article(copy, article) == before
    assert before and before[0].score == 8.0
