"""The alert payload: everything a message needs, frozen when the alert is queued.

The outbox stores this as JSON, so a message can be composed (and recomposed for a digest)
long after the article left the feed, and a restart never changes what is sent.
"""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel

from watcher.article import Article
from watcher.matching import Evidence, Match

CONTEXT_CHARS = 60


class Snippet(BaseModel):
    """A matched passage in its context: `before` + `text` + `after` is a slice of the field."""

    field: str
    block: int | None = None
    term: str
    text: str
    before: str
    after: str


class AlertPayload(BaseModel):
    rule_id: str
    rule_title: str
    severity: str
    score: float
    title: str
    date: dt.date
    section: str
    summary: str
    url: str | None
    source: str
    sources: list[str]
    feed: str | None
    published_at: dt.datetime | None
    snippets: list[Snippet]


def field_text(article: Article, evidence: Evidence) -> str:
    if evidence.field == "body":
        return article.body[evidence.block or 0].text
    return getattr(article, evidence.field)


def snippet(article: Article, evidence: Evidence, width: int = CONTEXT_CHARS) -> Snippet:
    """The matched words with up to `width` characters either side, cut at word boundaries."""
    text = field_text(article, evidence)
    before = text[max(0, evidence.start - width) : evidence.start]
    after = text[evidence.end : evidence.end + width]
    if evidence.start > width and " " in before:
        before = "…" + before[before.index(" ") + 1 :]
    if evidence.end + width < len(text) and " " in after:
        after = after[: after.rindex(" ")] + "…"
    return Snippet(
        field=evidence.field,
        block=evidence.block,
        term=evidence.term,
        text=text[evidence.start : evidence.end],
        before=before,
        after=after,
    )


def unique_passages(article: Article, evidence: list[Evidence]) -> list[tuple[Evidence, str]]:
    """One entry per matched passage, naming every term it satisfied.

    A passage is its words, not its field: a feed without content gives the description as
    both summary and body, and the same words at the same place are shown once, under the
    field that comes first.
    """
    spans: dict[tuple, tuple[Evidence, list[str]]] = {}
    for item in evidence:
        key = (field_text(article, item), item.start, item.end)
        if key not in spans:
            spans[key] = (item, [item.term])
        elif item.term not in spans[key][1]:
            spans[key][1].append(item.term)
    return [(item, ", ".join(terms)) for item, terms in spans.values()]


def build_payload(article: Article, match: Match, sources: list[str] | None = None) -> AlertPayload:
    snippets = []
    for evidence, terms in unique_passages(article, match.evidence):
        item = snippet(article, evidence)
        item.term = terms
        snippets.append(item)
    return AlertPayload(
        rule_id=match.rule_id,
        rule_title=match.rule_title,
        severity=match.severity,
        score=match.score,
        title=article.title,
        date=article.date,
        section=article.section,
        summary=article.summary,
        url=article.url,
        source=article.source,
        sources=sources or ([article.source] if article.source else []),
        feed=article.feed,
        published_at=article.published_at,
        snippets=snippets,
    )
