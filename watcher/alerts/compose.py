"""Alert and digest messages, worded for each kind of channel.

Composition is pure: an `AlertPayload` and a `Style` (the channel's format and size budget) go
in, a `Message` comes out. Content is first laid out as format-neutral lines of spans, then
rendered as plain text, markdown or HTML. Every piece of article text is escaped for the target
format, so a feed cannot inject markup, links or mentions into an alert.

When a message is too long for its channel it falls back step by step: full (article summary
and every matched passage) → summary (the first passages only) → title and link.
"""

from __future__ import annotations

import datetime as dt
import html
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import chain
from typing import Literal
from urllib.parse import quote, urlsplit

from pydantic import BaseModel, ConfigDict

from watcher.alerts.payload import AlertPayload, Snippet
from watcher.config import SEVERITY_NAMES

BodyFormat = Literal["markdown", "html", "text"]
SpanKind = Literal["plain", "strong", "match", "link", "note"]
LineKind = Literal["heading", "para", "item", "quote", "gap"]


class Style(BaseModel):
    """How one channel wants its messages: format, size budget and whether it shows a title."""

    model_config = ConfigDict(frozen=True)

    kind: str
    body_format: BodyFormat
    max_length: int | None = None
    max_lines: int | None = None
    count_bytes: bool = False
    title_in_body: bool = False


CONSOLE_STYLE = Style(kind="console", body_format="text")


class Message(BaseModel):
    title: str
    body: str
    body_format: BodyFormat
    text_body: str


@dataclass(frozen=True)
class Span:
    text: str
    kind: SpanKind = "plain"


@dataclass(frozen=True)
class Line:
    spans: tuple[Span, ...]
    kind: LineKind = "para"


GAP = Line((), "gap")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>|~#])")
_MENTION = re.compile(r"@(?=\w)")
# Characters that could end a markdown autolink or an HTML attribute early.
_URL_UNSAFE = frozenset("<>\"'`()[]{}|\\^")


def one_line(text: str) -> str:
    """Collapse whitespace and drop control characters (IRC and mail headers are line-based)."""
    return _CONTROL.sub("", " ".join(text.split()))


def safe_link(url: str | None) -> str | None:
    """An http(s) URL with markup-breaking characters percent-encoded; None for anything else."""
    if not url:
        return None
    url = url.strip()
    if any(c.isspace() or unicodedata.category(c) == "Cc" for c in url):
        return None
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return "".join(quote(c, safe="") if c in _URL_UNSAFE else c for c in url)


def severity_rank(severity: str) -> int:
    name = severity.lower()
    return SEVERITY_NAMES.index(name) if name in SEVERITY_NAMES else -1


def alert_title(payload: AlertPayload) -> str:
    return one_line(f"[{payload.severity.upper()}] {payload.rule_title} — {payload.title}")


# Rendering


def _escape_markdown(text: str) -> str:
    return _MENTION.sub("@\u200b", _MARKDOWN_SPECIAL.sub(r"\\\1", text))


def _render_span_text(span: Span) -> str:
    if span.kind == "match":
        return f"«{span.text}»"
    if span.kind == "note":
        return f"({span.text})"
    if span.kind == "link":
        return span.text
    return _MENTION.sub("@\u200b", span.text)


def _render_span_markdown(span: Span) -> str:
    if span.kind == "link":
        return f"<{span.text}>"
    text = _escape_markdown(span.text)
    if span.kind in ("strong", "match"):
        return f"**{text}**"
    if span.kind == "note":
        return f"_({text})_"
    return text


def _render_span_html(span: Span) -> str:
    text = html.escape(span.text, quote=True)
    if span.kind == "link":
        return f'<a href="{text}">{text}</a>'
    if span.kind == "strong":
        return f"<strong>{text}</strong>"
    if span.kind == "match":
        return f"<mark><strong>{text}</strong></mark>"
    if span.kind == "note":
        return f"<em>({text})</em>"
    return text


def _render_text(lines: Sequence[Line]) -> str:
    out = []
    for line in lines:
        content = "".join(_render_span_text(s) for s in line.spans)
        prefix = {"item": "- ", "quote": "  ", "heading": "", "para": "", "gap": ""}[line.kind]
        out.append(prefix + content)
    return "\n".join(out).strip("\n")


def _render_markdown(lines: Sequence[Line]) -> str:
    out = []
    for line in lines:
        content = "".join(_render_span_markdown(s) for s in line.spans)
        if line.kind == "heading":
            out.append(f"**{content}**")
        else:
            prefix = {"item": "- ", "quote": "> ", "para": "", "gap": ""}[line.kind]
            out.append(prefix + content)
    return "\n".join(out).strip("\n")


def _render_html(lines: Sequence[Line]) -> str:
    out: list[str] = []
    in_list = False
    for line in lines:
        if in_list and line.kind != "item":
            out.append("</ul>")
            in_list = False
        content = "".join(_render_span_html(s) for s in line.spans)
        if line.kind == "item":
            if not in_list:
                out.append("<ul>")
                in_list = True
            out.append(f"<li>{content}</li>")
        elif line.kind == "heading":
            out.append(f"<h3>{content}</h3>")
        elif line.kind == "quote":
            out.append(f"<blockquote>{content}</blockquote>")
        elif line.kind == "para":
            out.append(f"<p>{content}</p>")
    if in_list:
        out.append("</ul>")
    return "\n".join(out)


def render(lines: Sequence[Line], body_format: BodyFormat) -> str:
    if body_format == "html":
        return _render_html(lines)
    if body_format == "markdown":
        return _render_markdown(lines)
    return _render_text(lines)


def _render_title(title: str, style: Style) -> str:
    """The title as sent: escaped like the body when the channel prints it inside the body."""
    if not style.title_in_body or style.body_format == "text":
        return title
    if style.body_format == "html":
        return html.escape(title, quote=True)
    return _escape_markdown(title)


def _size(text: str, style: Style) -> int:
    return len(text.encode("utf-8")) if style.count_bytes else len(text)


def _fits(title: str, body: str, style: Style) -> bool:
    # apprise puts the title on its own line above the body when the channel has no title.
    lines = len(body.splitlines()) + (1 if style.title_in_body else 0)
    if style.max_lines is not None and lines > style.max_lines:
        return False
    if style.max_length is None:
        return True
    used = _size(body, style)
    if style.title_in_body:
        used += _size(_render_title(title, style), style) + 2
    return used <= style.max_length


def _fit_title(title: str, body: str, style: Style) -> str:
    """The title cut (with an ellipsis) so that title and body fit the channel together."""
    if style.max_length is None or not style.title_in_body or _fits(title, body, style):
        return title
    cut = title
    while cut and not _fits(cut + "…", body, style):
        cut = cut[:-1]
    return cut.rstrip() + "…" if cut else ""


def _message(title: str, lines: Sequence[Line], style: Style) -> Message:
    return Message(
        title=_render_title(title, style),
        body=render(lines, style.body_format),
        body_format=style.body_format,
        text_body=render(lines, "text"),
    )


def _first_fitting(title: str, candidates: Iterable[Sequence[Line]], style: Style) -> Message:
    """The first candidate layout that fits the style's budget, else the last one, cut to fit."""
    last: Sequence[Line] = ()
    for lines in candidates:
        last = lines
        if _fits(title, render(lines, style.body_format), style):
            return _message(title, lines, style)
    return _message(_fit_title(title, render(last, style.body_format), style), last, style)


# Layout


def _snippet_line(snippet: Snippet) -> Line:
    spans = [Span(one_line(snippet.before))] if snippet.before.strip() else []
    if spans and snippet.before[-1:].isspace():
        spans.append(Span(" "))
    spans.append(Span(one_line(snippet.text), "match"))
    if snippet.after.strip():
        spans.append(Span(" " if snippet.after[:1].isspace() else ""))
        spans.append(Span(one_line(snippet.after)))
    spans.append(Span(" "))
    spans.append(Span(one_line(snippet.term), "note"))
    return Line(tuple(s for s in spans if s.text), "item")


def _link_span(payload: AlertPayload) -> Span | None:
    link = safe_link(payload.url)
    return Span(link, "link") if link else None


def _sources(payload: AlertPayload) -> list[str]:
    names = [one_line(s) for s in payload.sources or [payload.source] if s and s.strip()]
    return list(dict.fromkeys(names))


def _facts(payload: AlertPayload) -> list[Line]:
    """Date, section, score; sources; link: the lines every alert keeps except the shortest."""
    meta = [Span("Date:", "strong"), Span(" "), Span(payload.date.isoformat())]
    if payload.section.strip():
        meta += [
            Span(" · "),
            Span("Section:", "strong"),
            Span(" "),
            Span(one_line(payload.section)),
        ]
    meta += [Span(" · "), Span("Score:", "strong"), Span(" "), Span(f"{payload.score:g}")]
    lines = [Line(tuple(meta))]
    sources = _sources(payload)
    if sources:
        label = "Sources:" if len(sources) > 1 else "Source:"
        lines.append(Line((Span(label, "strong"), Span(" " + ", ".join(sources)))))
    link = _link_span(payload)
    if link:
        lines.append(Line((Span("Link:", "strong"), Span(" "), link)))
    return lines


def _compact_facts(payload: AlertPayload) -> list[Line]:
    """The facts on two lines (details, link) for channels that count lines."""
    details = [payload.date.isoformat()]
    if payload.section.strip():
        details.append(one_line(payload.section))
    details.append(f"score {payload.score:g}")
    details.append(", ".join(_sources(payload)))
    lines = [Line((Span(" · ".join(d for d in details if d)),))]
    link = _link_span(payload)
    return [*lines, Line((link,))] if link else lines


def _compact_alert_lines(payload: AlertPayload, snippets: int) -> list[Line]:
    return _compact_facts(payload) + [_snippet_line(s) for s in payload.snippets[:snippets]]


def _alert_lines(payload: AlertPayload, snippets: int, with_summary: bool) -> list[Line]:
    lines = _facts(payload)
    if with_summary and payload.summary.strip():
        lines += [GAP, Line((Span(one_line(payload.summary)),), "quote")]
    chosen = payload.snippets[:snippets]
    if chosen:
        lines += [GAP, Line((Span("Matched words", "strong"),))]
        lines += [_snippet_line(s) for s in chosen]
    return lines


def _title_and_link(payload: AlertPayload) -> list[Line]:
    link = _link_span(payload)
    return [Line((link,))] if link else [Line((Span("(no link)"),))]


def compose_alert(payload: AlertPayload, style: Style) -> Message:
    """One alert: title `[SEVERITY] rule — article`, facts, and the matched words in context."""
    title = alert_title(payload)
    count = len(payload.snippets)
    candidates = chain(
        [_alert_lines(payload, count, with_summary=True)],
        (_alert_lines(payload, n, with_summary=False) for n in range(count, 0, -1)),
        (_compact_alert_lines(payload, n) for n in range(count, -1, -1)),
        [_title_and_link(payload)],
    )
    return _first_fitting(title, candidates, style)


def _newest_first_key(payload: AlertPayload) -> dt.datetime:
    when = payload.published_at or dt.datetime.combine(payload.date, dt.time())
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def group_by_rule(payloads: Iterable[AlertPayload]) -> list[list[AlertPayload]]:
    """Alerts grouped by rule: most severe rule first, newest alert first inside each rule."""
    groups: dict[str, list[AlertPayload]] = {}
    for payload in payloads:
        groups.setdefault(payload.rule_id, []).append(payload)
    ordered = sorted(
        groups.values(),
        key=lambda g: (-max(severity_rank(p.severity) for p in g), g[0].rule_title.lower()),
    )
    return [sorted(g, key=_newest_first_key, reverse=True) for g in ordered]


DigestDetail = Literal["full", "summary", "brief", "compact"]


def _digest_entry(payload: AlertPayload, detail: DigestDetail) -> list[Line]:
    head = [Span(one_line(payload.title), "strong")]
    link = _link_span(payload)
    if detail == "compact":
        # No rule headings in this form, so each line names its rule.
        rule = Span(f"{one_line(payload.rule_title)}: ")
        return [Line((rule, *head, Span(" "), link) if link else (rule, *head), "item")]
    if detail == "brief":
        return [Line((*head, Span(" "), link) if link else tuple(head), "item")]
    # A blank line first, so markdown does not fold this entry into the previous list.
    lines = [GAP, Line(tuple(head)), *_facts(payload)]
    snippets = payload.snippets if detail == "full" else payload.snippets[:1]
    lines += [_snippet_line(s) for s in snippets]
    return lines


def _digest_lines(
    groups: list[list[AlertPayload]], detail: DigestDetail, limit: int | None = None
) -> list[Line]:
    """Rule sections with their alerts; `compact` is one line per alert and nothing else."""
    lines: list[Line] = []
    shown = 0
    total = sum(len(g) for g in groups)
    for group in groups:
        if limit is not None and shown >= limit:
            break
        if detail != "compact":
            first = group[0]
            count = f"{len(group)} alert" + ("s" if len(group) != 1 else "")
            heading = f"[{first.severity.upper()}] {one_line(first.rule_title)} — {count}"
            lines += [GAP, Line((Span(heading),), "heading")]
        for payload in group:
            if limit is not None and shown >= limit:
                break
            lines += _digest_entry(payload, detail)
            shown += 1
    if shown < total:
        more = Line((Span(f"…and {total - shown} more"),))
        lines += [more] if detail == "compact" else [GAP, more]
    return lines


def digest_title(notifier_name: str, payloads: Sequence[AlertPayload], period_label: str) -> str:
    top = max(payloads, key=lambda p: severity_rank(p.severity)).severity.upper()
    count = f"{len(payloads)} alert" + ("s" if len(payloads) != 1 else "")
    return one_line(f"[{top}] watcher digest for {notifier_name} — {count}, {period_label}")


def compose_digest(
    notifier_name: str, payloads: Sequence[AlertPayload], style: Style, period_label: str
) -> Message:
    """Many alerts in one message, grouped by rule (most severe first), newest first inside."""
    if not payloads:
        raise ValueError(f"digest for notifier '{notifier_name}' has no alerts")
    title = digest_title(notifier_name, payloads, period_label)
    groups = group_by_rule(payloads)
    total = len(payloads)
    details: tuple[DigestDetail, ...] = ("full", "summary", "brief", "compact")
    candidates = chain(
        (_digest_lines(groups, detail) for detail in details),
        (_digest_lines(groups, "compact", limit=n) for n in range(total - 1, -1, -1)),
    )
    return _first_fitting(title, candidates, style)
