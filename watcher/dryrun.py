"""Dry-run: saved articles in the seed text format → rule verdicts, as text or JSON lines."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from rich.markup import escape

from watcher.alerts.payload import snippet, unique_passages
from watcher.article import Article
from watcher.matching import Evidence, Match
from watcher.seedtext import SeedTextError, read_articles

MAX_EVIDENCE_LINES = 8


@dataclass(frozen=True, slots=True)
class ArticleInput:
    label: str
    article: Article | None
    error: SeedTextError | None = None


def article_paths(paths: list[str]) -> Iterator[str]:
    """Files as given, `*.txt` below directories (sorted), `-` for standard input."""
    for raw in paths:
        if raw == "-":
            yield raw
            continue
        path = Path(raw)
        if path.is_dir():
            yield from (str(p) for p in sorted(path.rglob("*.txt")) if p.is_file())
        else:
            yield raw


def read_inputs(path: str) -> Iterator[ArticleInput]:
    """Every article of one input; a file may hold several separated by `---` lines."""
    source = sys.stdin.buffer if path == "-" else Path(path)
    items = list(read_articles(source, path=path))
    for number, item in enumerate(items, 1):
        label = path if len(items) == 1 else f"{path}#{number}"
        if isinstance(item, SeedTextError):
            yield ArticleInput(label, None, item)
        else:
            yield ArticleInput(label, item)


def json_line(label: str, article: Article, match: Match) -> str:
    return json.dumps(
        {
            "article": label,
            "title": article.title,
            "date": article.date.isoformat(),
            "section": article.section,
            "rule": match.rule_id,
            "severity": match.severity,
            "score": match.score,
            "matched": match.matched,
            "evidence": [evidence_json(e) for e in match.evidence],
        },
        ensure_ascii=False,
    )


def evidence_json(evidence: Evidence) -> dict:
    data = {"field": evidence.field}
    if evidence.field == "body":
        data["block"] = evidence.block
    data.update(start=evidence.start, end=evidence.end, text=evidence.text, term=evidence.term)
    return data


def in_context(article: Article, evidence: Evidence) -> str:
    """The matched words with some of the text around them, highlighted (rich markup)."""
    item = snippet(article, evidence)
    return (
        f"{escape(item.before)}[bold yellow]«{escape(item.text)}»[/bold yellow]{escape(item.after)}"
    )


SEVERITY_STYLE = {
    "info": "dim",
    "low": "cyan",
    "medium": "yellow",
    "high": "red",
    "critical": "bold red",
}


def article_heading(label: str, article: Article) -> str:
    return (
        f"[bold]{escape(label)}[/bold]  {article.date.isoformat()} {escape(article.section)}  "
        f"{escape(article.title)}"
    )


def match_lines(article: Article, match: Match, *, mark: str = "", note: str = "") -> list[str]:
    """A verdict (severity, rule, score, `note`) and its passages in context (rich markup)."""
    style = SEVERITY_STYLE.get(match.severity, "")
    verdict = "" if match.matched else "  [dim](no match)[/dim]"
    lines = [
        f"  {mark}[{style}]{match.severity.upper():8}[/{style}] [bold]{match.rule_id}[/bold]"
        f"  score {match.score:g}{verdict}{note}"
    ]
    spans = unique_passages(article, match.evidence)
    for evidence, terms in spans[:MAX_EVIDENCE_LINES]:
        where = evidence.field if evidence.field != "body" else f"body[{evidence.block}]"
        lines.append(f"      {where:9} {escape(terms)}: {in_context(article, evidence)}")
    if len(spans) > MAX_EVIDENCE_LINES:
        hidden = len(spans) - MAX_EVIDENCE_LINES
        lines.append(f"      [dim]… {hidden} more (--format json shows all)[/dim]")
    return lines


def text_report(label: str, article: Article, matches: list[Match]) -> list[str]:
    """Rich-markup lines for one article."""
    lines = [article_heading(label, article)]
    if not matches:
        lines.append("  [dim]no rule matched[/dim]")
    for match in matches:
        lines.extend(match_lines(article, match))
    return lines
