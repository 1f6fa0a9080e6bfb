"""Rules replayed over stored articles: what a rule change would add and take away.

Each stored article carries the verdicts it got when it was stored (the rules of that day);
matching it again with today's rules and comparing says, article by article and rule by rule,
which matches a change would add, which it would remove, and which it keeps.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from rich.markup import escape

from watcher.dryrun import article_heading, evidence_json, match_lines
from watcher.matching import Match
from watcher.store import StoredArticle

#: `absent`: the rule is not among today's rules (deleted, renamed, or its file failed to load).
Change = Literal["added", "removed", "kept", "absent"]


@dataclass(frozen=True, slots=True)
class Verdict:
    """One rule on one article, then and now. `now` is None when the rule no longer matches."""

    rule_id: str
    change: Change
    score_then: float | None
    now: Match | None


def compare(
    then: Mapping[str, float], now: Sequence[Match], rules: Collection[str]
) -> list[Verdict]:
    """Today's matches (by today's `rules`, their ids) against the scores stored with the
    article: kept and added in the order of today's matches, then the others by rule id."""
    verdicts = [
        Verdict(m.rule_id, "kept" if m.rule_id in then else "added", then.get(m.rule_id), m)
        for m in now
    ]
    matched_now = {m.rule_id for m in now}
    verdicts.extend(
        Verdict(rule_id, "removed" if rule_id in rules else "absent", score, None)
        for rule_id, score in sorted(then.items())
        if rule_id not in matched_now
    )
    return verdicts


@dataclass(slots=True)
class RuleTally:
    """One rule over the replayed articles: matched when stored, matched now, the difference."""

    then: int = 0
    now: int = 0
    added: int = 0
    removed: int = 0


def tally(verdicts: Iterable[Verdict], tallies: dict[str, RuleTally]) -> None:
    """Count `verdicts` of one article into `tallies` (per rule id)."""
    for verdict in verdicts:
        counts = tallies.setdefault(verdict.rule_id, RuleTally())
        counts.then += verdict.change != "added"
        counts.now += verdict.change in ("added", "kept")
        counts.added += verdict.change == "added"
        counts.removed += verdict.change == "removed"


_MARKS = {"added": "[green]+[/green] ", "removed": "[red]-[/red] ", "kept": "  ", "absent": "? "}
_GONE = {
    "removed": "matched when stored, score {score:g}",
    "absent": "matched when stored, score {score:g}; not among today's rules",
}


def text_lines(stored: StoredArticle, verdicts: Sequence[Verdict]) -> list[str]:
    """Rich-markup lines for one article: heading, then each verdict (`+` added, `-` removed,
    `?` a rule not among today's)."""
    article = stored.article
    first_seen = stored.first_seen_at.astimezone().strftime("%Y-%m-%d %H:%M")  # as `status`
    lines = [f"{article_heading(stored.feed, article)}  [dim](stored {first_seen})[/dim]"]
    for verdict in verdicts:
        if verdict.now is None:
            gone = _GONE[verdict.change].format(score=verdict.score_then)
            lines.append(
                f"  {_MARKS[verdict.change]}[bold]{escape(verdict.rule_id)}[/bold]"
                f"  [dim]{gone}[/dim]"
            )
            continue
        note = "" if verdict.change == "added" else f"  [dim](stored: {verdict.score_then:g})[/dim]"
        lines.extend(match_lines(article, verdict.now, mark=_MARKS[verdict.change], note=note))
    return lines


def json_line(stored: StoredArticle, verdict: Verdict) -> str:
    article = stored.article
    now = verdict.now
    return json.dumps(
        {
            "article_id": stored.id,
            "feed": stored.feed,
            "first_seen_at": stored.first_seen_at.isoformat(),
            "title": article.title,
            "date": article.date.isoformat(),
            "url": article.url,
            "rule": verdict.rule_id,
            "change": verdict.change,
            "score_then": verdict.score_then,
            "score_now": now.score if now else None,
            "severity": now.severity if now else None,
            "evidence": [evidence_json(e) for e in now.evidence] if now else [],
        },
        ensure_ascii=False,
    )


def summary_rows(tallies: Mapping[str, RuleTally]) -> list[tuple[str, int, int, int, int]]:
    """(rule, matched when stored, matched now, added, removed), by rule id."""
    return [(rule, t.then, t.now, t.added, t.removed) for rule, t in sorted(tallies.items())]
