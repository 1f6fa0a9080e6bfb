"""JSON Feed 1.0 and 1.1 (https://jsonfeed.org/version/1.1), read by our own code because the
released feedparser cannot (research/reliability.md §1.10).

Real JSON feeds bend the spec (numeric ids, `\\/`-escaped slashes, keys in any order, an
`http://` version URL), so fields are read tolerantly: a field of the wrong type counts as
absent, and an item that is not an object is skipped with a problem noted. A document that is
not JSON, or JSON without a jsonfeed.org version, raises JsonFeedError.
"""

from __future__ import annotations

import codecs
import json
import re
from dataclasses import dataclass
from typing import Any

JSON_CONTENT_TYPES = frozenset({"application/feed+json", "application/json"})
_VERSION = re.compile(r"^https?://jsonfeed\.org/version/(1(?:\.\d+)?)/?$")


class JsonFeedError(ValueError):
    """The body is not a JSON Feed; the message says what it is instead."""


@dataclass(frozen=True, slots=True)
class JsonItem:
    """The fields of one item that an Article is made from; `number` counts from 1 in the
    document's `items` list."""

    number: int
    id: str | None
    url: str | None
    title: str | None
    content_html: str | None
    content_text: str | None
    summary: str | None
    date_published: str | None
    date_modified: str | None
    tags: tuple[str, ...]
    authors: tuple[str, ...]
    language: str | None


@dataclass(frozen=True, slots=True)
class JsonFeed:
    """A JSON Feed document: `version` is "1" or "1.1"; `problems` name skipped items."""

    version: str
    title: str
    home_page_url: str | None
    language: str | None
    items: tuple[JsonItem, ...]
    problems: tuple[str, ...]


def is_json_body(body: bytes, content_type: str) -> bool:
    """True when the body should be read as JSON: it starts like JSON, or the server says it is
    JSON and it does not start like XML."""
    start = body.removeprefix(codecs.BOM_UTF8).lstrip()[:1]
    if start in (b"{", b"["):
        return True
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type in JSON_CONTENT_TYPES and start != b"<"


def _string(obj: dict[str, Any], key: str) -> str | None:
    value = obj.get(key)
    if isinstance(value, str):
        return value if value.strip() else None
    if isinstance(value, int | float) and not isinstance(value, bool):
        # Ids are strings by the spec, but numbers are common in the wild.
        return str(value)
    return None


def _author_names(obj: dict[str, Any]) -> tuple[str, ...]:
    authors = obj.get("authors")
    if not isinstance(authors, list):
        single = obj.get("author")
        authors = [single] if isinstance(single, dict) else []
    names = (_string(author, "name") for author in authors if isinstance(author, dict))
    return tuple(name.strip() for name in names if name)


def _item(number: int, obj: dict[str, Any], feed_authors: tuple[str, ...]) -> JsonItem:
    tags = obj.get("tags")
    return JsonItem(
        number=number,
        id=_string(obj, "id"),
        url=_string(obj, "url") or _string(obj, "external_url"),
        title=_string(obj, "title"),
        content_html=_string(obj, "content_html"),
        content_text=_string(obj, "content_text"),
        summary=_string(obj, "summary"),
        date_published=_string(obj, "date_published"),
        date_modified=_string(obj, "date_modified"),
        tags=tuple(tag for tag in tags if isinstance(tag, str)) if isinstance(tags, list) else (),
        authors=_author_names(obj) or feed_authors,
        language=_string(obj, "language"),
    )


def _decode(body: bytes, charset: str | None) -> str:
    try:
        return body.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        if not charset:
            raise JsonFeedError(f"not UTF-8 ({error})") from None
    try:
        return body.decode(charset)
    except (UnicodeDecodeError, LookupError) as error:
        raise JsonFeedError(f"neither UTF-8 nor the declared charset {charset} ({error})") from None


def read_json_feed(body: bytes, charset: str | None = None) -> JsonFeed:
    """Read a JSON Feed document; `charset` is the Content-Type's, tried when UTF-8 fails."""
    try:
        document = json.loads(_decode(body, charset))
    except json.JSONDecodeError as error:
        raise JsonFeedError(
            f"invalid JSON at line {error.lineno}, column {error.colno}: {error.msg}"
        ) from None
    if not isinstance(document, dict):
        raise JsonFeedError(f"JSON {type(document).__name__}, not a JSON Feed object")
    version = _VERSION.match(_string(document, "version") or "")
    if version is None:
        keys = ", ".join(sorted(document)[:5]) or "none"
        raise JsonFeedError(f"JSON without a jsonfeed.org version, not a JSON Feed (keys: {keys})")
    raw_items = document.get("items")
    if not isinstance(raw_items, list):
        raise JsonFeedError("JSON Feed without an 'items' list")
    feed_authors = _author_names(document)
    items: list[JsonItem] = []
    problems: list[str] = []
    for number, raw in enumerate(raw_items, 1):
        if isinstance(raw, dict):
            items.append(_item(number, raw, feed_authors))
        else:
            problems.append(f"entry {number}: a JSON {type(raw).__name__}, not an item object")
    return JsonFeed(
        version=version.group(1),
        title=_string(document, "title") or "",
        home_page_url=_string(document, "home_page_url"),
        language=_string(document, "language"),
        items=tuple(items),
        problems=tuple(problems),
    )
