"""A feed's own request headers (`headers` of a feed in the config, `watcher fetch --header`).

Some sites refuse unknown clients or want credentials: a browser User-Agent, a cookie, an
Authorization. Those go with the feed's requests, under two rules that keep credentials where
the user meant them to go:

- Authorization, Cookie, Proxy-Authorization, and any header whose value names a secret
  (`${NAME}`), go only to the origin (scheme, host, port) of the URL the user configured. A
  redirect to another server does not carry them, nor does a permanent redirect that moves
  the feed: the server the feed moved to gets them once the user writes its URL in the config.
- Every other header (User-Agent, Accept-Language, Referer, …) goes with every request of the
  feed, redirects and full-text page fetches included.

Headers watcher must set itself (conditional GET, the decompression caps, the connection)
cannot be configured.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import httpx

# RFC 9110 §5.6.2: a field name is a token.
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_FIELD_VALUE = re.compile(r"[\t\x20-\x7e]*")
_NOT_A_VALUE = "a line break, a control character or a character outside ASCII"
CREDENTIAL_HEADERS = frozenset({"authorization", "cookie", "proxy-authorization"})
# Lower-cased name → why watcher keeps it to itself.
RESERVED = {
    "host": "it follows from the feed URL",
    "if-none-match": "watcher sends it for conditional GETs",
    "if-modified-since": "watcher sends it for conditional GETs",
    "accept-encoding": "watcher sends it and caps what each coding decodes to",
    "connection": "the HTTP client manages connections",
    "keep-alive": "the HTTP client manages connections",
    "proxy-connection": "the HTTP client manages connections",
    "te": "the HTTP client manages transfer codings",
    "transfer-encoding": "a GET has no body",
    "content-length": "a GET has no body",
    "upgrade": "watcher speaks HTTP/1.1",
}


def _is_field_value(value: str) -> bool:
    # RFC 9110 §5.5 allows visible ASCII, space and tab (and obsolete Latin-1 no client sends).
    return _FIELD_VALUE.fullmatch(value) is not None


def header_problem(name: str, value: str) -> str | None:
    """What is wrong with one configured header, or None."""
    if not _TOKEN.fullmatch(name):
        return f"{name!r} is not an HTTP header name (letters, digits and !#$%&'*+-.^_`|~ only)"
    reason = RESERVED.get(name.lower())
    if reason is not None:
        return f"{name!r} cannot be set: {reason}"
    if not _is_field_value(value):
        return f"the value of {name!r} holds {_NOT_A_VALUE}"
    return None


def headers_problems(headers: Mapping[str, str]) -> list[str]:
    """Every problem of a set of headers, a name given twice (in any case) included."""
    problems = [p for name, value in headers.items() if (p := header_problem(name, value))]
    seen: dict[str, str] = {}
    for name in headers:
        earlier = seen.setdefault(name.lower(), name)
        if earlier != name:
            problems.append(f"{earlier!r} and {name!r} are the same header")
    return problems


Origin = tuple[str, str, int | None]
# What an unreadable configured URL gets: no URL has it, so credentials go nowhere (and the
# fetch itself reports the URL).
_NO_ORIGIN: Origin = ("", "", None)


def _origin(url: httpx.URL) -> Origin:
    default = {"http": 80, "https": 443}.get(url.scheme)
    return url.scheme, url.host, url.port or default


def _configured_origin(url: str) -> Origin:
    try:
        return _origin(httpx.URL(url))
    except (httpx.InvalidURL, TypeError, ValueError):
        return _NO_ORIGIN


@dataclass(frozen=True)
class FeedHeaders:
    """The headers of one feed, secrets resolved, split by where they may go."""

    origin: Origin
    everywhere: Mapping[str, str] = field(default_factory=dict)
    origin_only: Mapping[str, str] = field(default_factory=dict)

    def for_url(self, url: httpx.URL) -> dict[str, str]:
        """The headers a request to `url` carries."""
        if self.origin_only and _origin(url) == self.origin:
            return {**self.everywhere, **self.origin_only}
        return dict(self.everywhere)


def feed_headers(
    configured_url: str, headers: Mapping[str, str], resolve: Callable[[str], str]
) -> FeedHeaders | None:
    """The headers of a feed configured at `configured_url`; `resolve` replaces the `${NAME}`
    references of a value (and raises, naming the secret, when one cannot be read). None when
    the feed has none."""
    if not headers:
        return None
    everywhere: dict[str, str] = {}
    origin_only: dict[str, str] = {}
    for name, value in headers.items():
        resolved = resolve(value)
        names_secret = resolved != value
        # Whitespace around a value is not part of it (RFC 9110 §5.5), and HTTP libraries
        # refuse to send it.
        resolved = resolved.strip(" \t")
        if not _is_field_value(resolved):
            what = f"the secret in header {name!r}" if names_secret else f"the value of {name!r}"
            raise ValueError(f"{what} holds {_NOT_A_VALUE}")
        credential = names_secret or name.lower() in CREDENTIAL_HEADERS
        (origin_only if credential else everywhere)[name] = resolved
    return FeedHeaders(_configured_origin(configured_url), everywhere, origin_only)


def merged(base: Mapping[str, str], own: Mapping[str, str]) -> dict[str, str]:
    """`base` with `own` on top, names compared without case (httpx would send both)."""
    replaced = {name.lower() for name in own}
    return {**{k: v for k, v in base.items() if k.lower() not in replaced}, **own}
