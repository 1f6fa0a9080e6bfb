"""Embedded rule examples (`watcher rules test`): must-match, must-not-match, and known gaps."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from watcher.article import Article, Block
from watcher.matching.compile import RuleSet
from watcher.matching.document import analyze
from watcher.matching.evaluate import Evaluation, Match, candidates, evaluate_rule
from watcher.matching.rule import Example
from watcher.seedtext import SeedTextError, read_file

EXPECTATIONS = {
    "match": True,
    "no_match": False,
    "todo_match": True,
    "todo_no_match": False,
}


@dataclass(frozen=True, slots=True)
class ExampleResult:
    rule_id: str
    kind: str  # match | no_match | todo_match | todo_no_match
    example: Example
    passed: bool
    detail: str

    @property
    def todo(self) -> bool:
        return self.kind.startswith("todo_")

    @property
    def failed(self) -> bool:
        return not self.passed and not self.todo


def example_article(example: Example) -> Article:
    """The article an example stands for: a seed-format file, or the fields it gives."""
    if example.file is not None:
        return read_file(example.file)
    fields = dict(example.fields)
    body = fields.pop("body", "")
    blocks = [Block(text=part) for part in body.split("\n\n") if part.strip()]
    return Article(date=dt.date.today(), title=fields.pop("title", ""), body=blocks, **fields)


def run_examples(ruleset: RuleSet) -> list[ExampleResult]:
    results: list[ExampleResult] = []
    for index, compiled in enumerate(ruleset.rules):
        rule = compiled.rule
        for kind, expected in EXPECTATIONS.items():
            for example in getattr(rule.examples, kind):
                try:
                    article = example_article(example)
                except (SeedTextError, ValueError) as error:
                    results.append(
                        ExampleResult(rule.id, kind, example, False, f"unreadable example: {error}")
                    )
                    continue
                document = analyze(article)
                verdict = evaluate_rule(compiled, Evaluation(document))
                passed = verdict.matched == expected
                detail = _describe(verdict)
                if verdict.matched and rule.enabled and index not in candidates(ruleset, document):
                    passed = False
                    detail = "engine error: the index filtered out a rule that matches; " + detail
                results.append(ExampleResult(rule.id, kind, example, passed, detail))
    return results


def _describe(verdict: Match) -> str:
    if not verdict.evidence:
        return f"score {verdict.score:g}, no terms matched"
    words = ", ".join(f"{e.text!r} ({e.term})" for e in verdict.evidence[:8])
    return f"score {verdict.score:g}: {words}"
