"""The one article schema every stage speaks: the shape of the seed article (DESIGN §3)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

BlockKind = Literal["paragraph", "subheading"]

#: The fields a rule can search, in the order they appear in an article.
TEXT_FIELDS: tuple[str, ...] = ("title", "summary", "caption", "body")
#: Every field a query may scope to (`section:`, `source:` are short metadata fields).
QUERY_FIELDS: tuple[str, ...] = ("title", "summary", "caption", "body", "section", "source")


def _single_line(value: str) -> str:
    # A header line of the seed format holds exactly one line: line breaks inside a value
    # would shift every following line, so they fold to spaces.
    return " ".join(value.split())


class Block(BaseModel):
    """One body block: a paragraph or a subheading, a single line of text."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: BlockKind = "paragraph"
    text: str = Field(min_length=1)

    @field_validator("text")
    @classmethod
    def _one_line(cls, value: str) -> str:
        text = _single_line(value)
        if not text:
            raise ValueError("a body block needs some text")
        return text


class Article(BaseModel):
    """A dated, sectioned news story, as in the seed article.

    The first eight fields are what the seed text format holds; the rest is metadata from the
    feed and the poll.
    """

    model_config = ConfigDict(extra="forbid")

    date: dt.date
    section: str = ""
    title: str
    summary: str = ""
    caption: str = ""
    age: str = ""
    body: list[Block] = Field(default_factory=list)
    source: str = ""

    url: str | None = None
    guid: str | None = None
    feed: str | None = None
    language: str | None = None
    fetched_at: dt.datetime | None = None
    published_at: dt.datetime | None = None

    @field_validator("section", "title", "summary", "caption", "age", "source")
    @classmethod
    def _header_is_one_line(cls, value: str) -> str:
        return _single_line(value)

    def field_texts(self, name: str) -> list[str]:
        """The texts of one searchable field: one string, or one per body block."""
        if name == "body":
            return [block.text for block in self.body]
        return [getattr(self, name)]
