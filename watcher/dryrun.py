"""Dry-run: saved articles in the seed text format → rule verdicts, as text or JSON lines."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from rich.markup import escape

from watcher.article import Article
from watcher.matching import Evidence, Match
from watcher.seedtext import SeedTextError, read_articles

CONTEXT_CHARS = 60
MAX_EVIDENCE_LINES = 8


@dataclass(frozen=True, slots=True)
class ArticleInput:
    label: str
    article: Article | None
    error: SeedTextError | OSError | None = None


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
    try:
        if path == "-":
            items = list(read_articles(sys.stdin.buffer, path="-"))
        else:
            items = list(read_articles(Path(path)))
    except OSError as error:
        yield ArticleInput(path, None, error)
        return
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
            "evidence": [_evidence_json(e) for e in match.evidence],
        },
        ensure_ascii=False,
    )


def _evidence_json(evidence: Evidence) -> dict:
    data = {"field": evidence.field}
    if evidence.field == "body":
        data["block"] = evidence.block
    data.update(start=evidence.start, end=evidence.end, text=evidence.text, term=evidence.term)
    return data


def field_text(article: Article, evidence: Evidence) -> str:
    if evidence.field == "body":
        return article.body[evidence.block or 0].text
    return getattr(article, evidence.field)


def in_context(article: Article, evidence: Evidence) -> str:
    """The matched words with some of the text around them, highlighted (rich markup)."""
    text = field_text(article, evidence)
    before = text[max(0, evidence.start - CONTEXT_CHARS) : evidence.start]
    after = text[evidence.end : evidence.end + CONTEXT_CHARS]
    lead = "…" if evidence.start > CONTEXT_CHARS else ""
    tail = "…" if evidence.end + CONTEXT_CHARS < len(text) else ""
    return (
        f"{lead}{escape(before)}[bold yellow]«{escape(text[evidence.start : evidence.end])}»"
        f"[/bold yellow]{escape(after)}{tail}"
    )


SEVERITY_STYLE = {
    "info": "dim",
    "low": "cyan",
    "medium": "yellow",
    "high": "red",
    "critical": "bold red",
}


def text_report(label: str, article: Article, matches: list[Match]) -> list[str]:
    """Rich-markup lines for one article."""
    header = (
        f"[bold]{escape(label)}[/bold]  {article.date.isoformat()} {escape(article.section)}  "
        f"{escape(article.title)}"
    )
    lines = [header]
    if not matches:
        lines.append("  [dim]no rule matched[/dim]")
    for match in matches:
        style = SEVERITY_STYLE.get(match.severity, "")
        verdict = "" if match.matched else "  [dim](no match)[/dim]"
        lines.append(
            f"  [{style}]{match.severity.upper():8}[/{style}] [bold]{match.rule_id}[/bold]"
            f"  score {match.score:g}{verdict}"
        )
        spans = _by_span(match.evidence)
        for evidence, terms in spans[:MAX_EVIDENCE_LINES]:
            where = evidence.field if evidence.field != "body" else f"body[{evidence.block}]"
            lines.append(f"      {where:9} {escape(terms)}: {in_context(article, evidence)}")
        if len(spans) > MAX_EVIDENCE_LINES:
            hidden = len(spans) - MAX_EVIDENCE_LINES
            lines.append(f"      [dim]… {hidden} more (--format json shows all)[/dim]")
    return lines


def _by_span(evidence: list[Evidence]) -> list[tuple[Evidence, str]]:
    """One line per matched passage, naming every term it satisfied."""
    spans: dict[tuple, tuple[Evidence, list[str]]] = {}
    for item in evidence:
        key = (item.field, item.block, item.start, item.end)
        if key in spans:
            spans[key][1].append(item.term)
        else:
            spans[key] = (item, [item.term])
    return [(item, ", ".join(terms)) for item, terms in spans.values()]
