"""Helpers to run one query against one text, without rule files."""

from __future__ import annotations

import datetime as dt

import pytest

from watcher.article import Article, Block
from watcher.matching.compile import compile_rules
from watcher.matching.evaluate import Match, match_article
from watcher.matching.rule import Location, QuerySource, Rule, TermList


def make_article(**fields: str) -> Article:
    body = fields.pop("body", "")
    blocks = [Block(text=part) for part in body.split("\n\n") if part.strip()]
    return Article(date=dt.date(2025, 5, 20), title=fields.pop("title", ""), body=blocks, **fields)


def make_lists(lists: dict[str, list[str]] | None) -> dict[str, TermList]:
    where = Location("_lists.yaml", 1, 1)
    return {
        name: TermList(name, [QuerySource(entry, where) for entry in entries], where)
        for name, entries in (lists or {}).items()
    }


def run_query(
    query: str,
    lists: dict[str, list[str]] | None = None,
    language: str = "en",
    **fields: str,
) -> Match | None:
    rule = Rule(
        id="probe",
        title="Probe",
        location=Location("probe.yaml", 1, 1),
        language=language,
        all=[QuerySource(query, Location("probe.yaml", 1, 1))],
    )
    ruleset, problems = compile_rules([rule], make_lists(lists))
    errors = [p for p in problems if p.severity == "error"]
    assert not errors, errors
    found = match_article(ruleset, make_article(**fields))
    return found[0] if found else None


@pytest.fixture
def matches():
    def check(
        query: str, lists: dict[str, list[str]] | None = None, language: str = "en", **fields: str
    ) -> bool:
        return run_query(query, lists, language, **fields) is not None

    return check
