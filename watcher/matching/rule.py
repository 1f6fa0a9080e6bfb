"""Rules as loaded from YAML: plain values with the file position of every query."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal

Severity = Literal["info", "low", "medium", "high", "critical"]
SEVERITIES: tuple[str, ...] = ("info", "low", "medium", "high", "critical")
DEFAULT_FIELDS: tuple[str, ...] = ("title", "summary", "caption", "body")


@dataclass(frozen=True, slots=True)
class Location:
    """Where a value sits in a rule file; `columns` maps query offsets to (line, column)."""

    path: str
    line: int  # 1-based
    column: int  # 1-based
    columns: tuple[tuple[int, int, int], ...] = ()  # (query offset, line, column) anchors

    def at(self, offset: int) -> tuple[int, int]:
        """File line and column of character `offset` of the query text."""
        line, column, base = self.line, self.column, 0
        for anchor_offset, anchor_line, anchor_column in self.columns:
            if anchor_offset > offset:
                break
            base, line, column = anchor_offset, anchor_line, anchor_column
        return line, column + (offset - base)

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}"


@dataclass(frozen=True, slots=True)
class QuerySource:
    text: str
    location: Location
    # A plain YAML scalar: ' #' in its line started a comment that cut the query short.
    plain: bool = False


@dataclass(frozen=True, slots=True)
class Example:
    """An embedded example: partial article fields, or a seed-format file."""

    fields: dict[str, str]
    location: Location
    file: str | None = None


@dataclass(slots=True)
class Examples:
    match: list[Example] = field(default_factory=list)
    no_match: list[Example] = field(default_factory=list)
    todo_match: list[Example] = field(default_factory=list)
    todo_no_match: list[Example] = field(default_factory=list)


@dataclass(slots=True)
class Rule:
    id: str
    title: str
    location: Location
    severity: str = "medium"
    description: str = ""
    tags: list[str] = field(default_factory=list)
    enabled: bool = True
    fields: tuple[str, ...] = DEFAULT_FIELDS
    language: str = "en"
    all: list[QuerySource] = field(default_factory=list)
    any: list[QuerySource] = field(default_factory=list)
    none: list[QuerySource] = field(default_factory=list)
    min_score: float = 0
    notify: list[str] = field(default_factory=list)
    notify_location: Location | None = None
    throttle: dt.timedelta | None = None
    examples: Examples = field(default_factory=Examples)
    status: str = "stable"


@dataclass(slots=True)
class TermList:
    """A shared list from a `_*.yaml` file: the OR of its entries, each a query."""

    name: str
    entries: list[QuerySource]
    location: Location
    description: str = ""


@dataclass(frozen=True, slots=True)
class Problem:
    """One problem found in a rule file: `path:line:col: message`."""

    path: str
    line: int
    column: int
    message: str
    severity: Literal["error", "warning"] = "error"

    def __str__(self) -> str:
        prefix = "warning: " if self.severity == "warning" else ""
        return f"{self.path}:{self.line}:{self.column}: {prefix}{self.message}"


class RuleError(Exception):
    """A problem that stops one rule (or one list) from loading; the others carry on."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(str(problem))
        self.problem = problem
