"""The rule language: load YAML rules, compile them into one index, match articles."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from watcher.matching.compile import RuleSet, compile_rules
from watcher.matching.evaluate import Evidence, Match, match_article
from watcher.matching.load import LoadedRules, load_rules
from watcher.matching.rule import Problem, Rule

__all__ = [
    "Evidence",
    "LoadedRuleSet",
    "Match",
    "Problem",
    "Rule",
    "RuleSet",
    "load_ruleset",
    "match_article",
]


@dataclass(slots=True)
class LoadedRuleSet:
    """A compiled rule set with what loading it found wrong (bad rules are left out)."""

    ruleset: RuleSet
    loaded: LoadedRules
    problems: list[Problem]

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]


def load_ruleset(paths: Iterable[Path]) -> LoadedRuleSet:
    loaded = load_rules(paths)
    ruleset, compile_problems = compile_rules(loaded.rules, loaded.lists)
    return LoadedRuleSet(ruleset, loaded, loaded.problems + compile_problems)
