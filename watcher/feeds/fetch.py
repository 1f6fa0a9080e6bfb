"""Fetching feeds over HTTP: one shared httpx client, hard limits, and an answer for every failure.

`Fetcher.fetch` never raises for a network or HTTP problem; it returns a `FetchResult` whose
`outcome` says what happened and whose `error` is a one-line reason. The hazards measured in
research/reliability.md §0 and §2 are handled here:

* wire bytes are counted on `aiter_raw()` and gzip/deflate are decoded by our own bounded
  inflater, because httpx decodes without an output limit (decompression bombs); only
  `gzip, deflate` are offered;
* one deadline (`asyncio.timeout`) covers every redirect hop and the whole body, because
  httpx's read timeout is per chunk and a slow-drip server could hold a fetch forever;
* redirects are followed here, not by httpx, to count them, catch loops and tell a permanent
  move (only 301/308 all the way) from a temporary one;
* a per-host slot limit, and a host-wide cool-down after a 429/503 with `Retry-After`;
* the `httpx`, `httpcore` and `apprise` loggers are kept at WARNING (they log full URLs, which
  can carry keys); our own log lines go through `redact_url`.

Whether a 200 body is a feed at all (an HTML block page, say) is decided by the parser
(`watcher.feeds.parse` reports "an HTML page, not a feed"): only it can tell a real feed served
with a wrong Content-Type, which is common, from a page that is not a feed.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import hashlib
import http
import http.cookiejar
import logging
import re
import select
import socket
import ssl
import time
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Self

import httpcore
import httpx
from pydantic import BaseModel, ConfigDict, Field

from watcher.feeds.headers import FeedHeaders, merged
from watcher.feeds.route import DIRECT, Route, RouteError, proxy_for
from watcher.feeds.schedule import retry_after_seconds
from watcher.feeds.ssrf import (
    LINK_PORTS,
    AddressCheck,
    AddressRefused,
    PublicOnlyBackend,
    address_problem,
    link_problem,
    literal_host_problem,
    port_of,
)

log = logging.getLogger(__name__)

#: What a feed poll asks for; servers that negotiate pick a feed format over a web page.
FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, "
    "application/xml;q=0.9, text/xml;q=0.9, application/json;q=0.8, */*;q=0.5"
)
#: What an article (full text) fetch asks for.
HTML_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"
#: The only content codings we can decode with an output bound.
ACCEPT_ENCODING = "gzip, deflate"
NOISY_LOGGERS = ("httpx", "httpcore", "apprise")

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_PERMANENT_REDIRECTS = frozenset({301, 308})
_RETRY_AFTER_STATUSES = frozenset({429, 503})
#: A client no fetch has used for this long is closed (a rotated proxy password or a reload
#: that changed a feed's proxy or CA files leaves its old route's client behind for good).
IDLE_CLIENT_SECONDS = 3600.0
#: Inflate at most this much per call, so one network chunk never becomes one huge string.
_INFLATE_STEP = 1 << 20
_GZIP_MAGIC = b"\x1f\x8b"


class HttpLimits(BaseModel):
    """How the fetcher behaves on the wire; times are in seconds."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    user_agent: str = "watcher/0.1 (+https://example.invalid/watcher)"
    max_wire_bytes: int = Field(10_000_000, gt=0, description="cap on bytes received per body")
    max_decoded_bytes: int = Field(50_000_000, gt=0, description="cap after gzip/deflate")
    deadline: float = Field(30.0, gt=0, description="wall-clock limit per fetch, all hops")
    connect_timeout: float = Field(10.0, gt=0)
    read_timeout: float = Field(20.0, gt=0, description="longest silence between two chunks")
    max_redirects: int = Field(5, ge=0, le=20)
    concurrency: int = Field(20, ge=1, description="fetches in flight at once, all hosts")
    per_host: int = Field(2, ge=1, description="fetches in flight at once per host")
    max_retry_after: float = Field(86_400.0, gt=0, description="longest Retry-After honoured")
    link_ports: frozenset[int] | None = Field(
        LINK_PORTS, description="ports links from feeds may reach (None: any)"
    )


class Outcome(StrEnum):
    FETCHED = "fetched"  # a 2xx with a body that differs from the previous one
    NOT_MODIFIED = "not_modified"  # 304: the validators still hold
    UNCHANGED = "unchanged"  # a 2xx whose body hashes the same as the previous one
    DEFERRED = "deferred"  # not attempted: the host asked for a pause (Retry-After)
    FAILED = "failed"  # `error` says why


@dataclass(frozen=True, slots=True)
class FetchResult:
    """What one fetch found.

    `body` is the decoded body, only for `FETCHED`. `etag` and `last_modified` are the
    validators exactly as the final response sent them (None when absent; on a 304 keep the
    stored ones unless new ones came). `body_hash` is the SHA-256 of the decoded body.
    `permanent_redirect_to` is set only when every hop was a 301/308 and the fetch succeeded:
    only then should the caller update the stored URL. `retry_after` (seconds, clamped) is set
    for 429/503 answers and for `DEFERRED` results. `gone` is a 410: stop polling the feed.
    """

    url: str
    final_url: str
    outcome: Outcome
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    permanent_redirect_to: str | None = None
    retry_after: float | None = None
    error: str | None = None
    elapsed: float = 0.0
    #: How long the server took: from holding a slot for its host to the end (queueing behind
    #: other fetches not counted); None when no request was sent.
    response_seconds: float | None = None

    @property
    def ok(self) -> bool:
        return self.outcome in (Outcome.FETCHED, Outcome.NOT_MODIFIED, Outcome.UNCHANGED)

    @property
    def not_modified(self) -> bool:
        return self.outcome is Outcome.NOT_MODIFIED

    @property
    def unchanged(self) -> bool:
        return self.outcome is Outcome.UNCHANGED

    @property
    def gone(self) -> bool:
        return self.status == http.HTTPStatus.GONE


class _Failed(Exception):
    """Ends a fetch with a reason (and the response facts known so far)."""

    def __init__(self, reason: str, response: httpx.Response | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.response = response


# -- logging and URLs -----------------------------------------------------------------------------


def quiet_noisy_loggers() -> None:
    """Keep loggers that print whole URLs (and so secrets in them) at WARNING."""
    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


_SECRET_NAME = re.compile(
    r"token|key|secret|pass|pwd|auth|sig|session|sid|credential|code|ticket|jwt", re.IGNORECASE
)
_TOKEN_LIKE = re.compile(r"(?=[A-Za-z0-9_]*\d)(?=[A-Za-z0-9_]*[A-Za-z])[A-Za-z0-9_]{24,}")


def redact_url(url: str | httpx.URL) -> str:
    """The URL with what may be a secret replaced by `***`, for logs and error messages.

    Hidden: the user-info part, the values of query parameters whose name sounds secret
    (`token`, `api_key`, `sig`, …) and any query value or path segment that looks like a
    token (24+ letters and digits, no punctuation). The fragment is dropped.
    """
    text = str(url).split("#", 1)[0]
    scheme, sep, rest = text.partition("://")
    if not sep:
        return text
    authority, slash, path_and_query = rest.partition("/")
    if "@" in authority:
        authority = "***@" + authority.rsplit("@", 1)[1]
    path, question, query = path_and_query.partition("?")
    path = "/".join("***" if _TOKEN_LIKE.fullmatch(part) else part for part in path.split("/"))
    pairs = []
    for pair in query.split("&") if query else []:
        name, equals, value = pair.partition("=")
        secret = _SECRET_NAME.search(name) or _TOKEN_LIKE.fullmatch(value)
        pairs.append(f"{name}{equals}***" if equals and value and secret else pair)
    return f"{scheme}://{authority}{slash}{path}{question}{'&'.join(pairs)}"


def _size(count: int) -> str:
    if count >= 1_000_000:
        return f"{count / 1_000_000:g} MB"
    if count >= 1_000:
        return f"{count / 1_000:g} kB"
    return f"{count} bytes"


def _seconds(value: float) -> str:
    return f"{value:g} s"


_PROXY_CREDENTIALS_HINT = (
    " (the proxy wants credentials: give them in its URL, "
    "http://user:${PASSWORD}@host:port, the password as a secret)"
)
# Sites that refuse bots or want a login answer these; what the user can do about it.
_REFUSAL_HINTS = {
    http.HTTPStatus.UNAUTHORIZED: (
        " (the server wants credentials: send them with the feed's `headers`, e.g. "
        "Authorization, or `watcher fetch --header`)"
    ),
    http.HTTPStatus.FORBIDDEN: (
        " (the server refused watcher; if it turns away unknown clients, the feed's "
        "`headers` or `watcher fetch --header` can send a browser's User-Agent or a cookie)"
    ),
    http.HTTPStatus.PROXY_AUTHENTICATION_REQUIRED: _PROXY_CREDENTIALS_HINT,
}


def _status_line(response: httpx.Response) -> str:
    phrase = response.reason_phrase
    if not phrase:
        try:
            phrase = http.HTTPStatus(response.status_code).phrase
        except ValueError:
            phrase = ""
    return f"HTTP {response.status_code} {phrase}".rstrip()


# -- bounded body decoding ------------------------------------------------------------------------


class _BodyReader:
    """Collects a body chunk by chunk, inflating gzip/deflate itself with a hard output cap."""

    def __init__(self, coding: str, limit: int) -> None:
        if coding not in ("identity", "gzip", "x-gzip", "deflate"):
            raise _Failed(f"unsupported Content-Encoding {coding!r} (asked for {ACCEPT_ENCODING})")
        self._coding = coding
        self._limit = limit
        self._out = bytearray()
        self._inflater: zlib._Decompress | None = None
        self._members_done = 0
        self._header = b""  # the first bytes of a deflate body, to tell zlib from raw
        self._trailing = False

    def feed(self, data: bytes) -> None:
        if self._coding == "identity":
            self._append(data)
        elif not self._trailing:
            self._inflate(data)

    def finish(self) -> bytes:
        if self._coding != "identity":
            if self._header:  # a deflate body shorter than its own header
                raise _Failed(f"the {self._coding} body is truncated")
            if self._inflater is not None and not self._inflater.eof:
                raise _Failed(f"the {self._coding} body is truncated")
        return bytes(self._out)

    def _append(self, data: bytes) -> None:
        self._out += data
        if len(self._out) > self._limit:
            what = "body" if self._coding == "identity" else "decompressed body"
            raise _Failed(f"{what} exceeds {_size(self._limit)}")

    def _start(self, data: bytes) -> bytes | None:
        """Create the inflater for the next member; None while more header bytes are needed."""
        if self._coding == "deflate":
            # "deflate" should carry a zlib header, but some servers send raw deflate.
            data = self._header + data
            if len(data) < 2:
                self._header = data
                return None
            self._header = b""
            zlib_header = data[0] & 0x0F == 8 and int.from_bytes(data[:2], "big") % 31 == 0
            self._inflater = zlib.decompressobj(zlib.MAX_WBITS if zlib_header else -zlib.MAX_WBITS)
            return data
        if self._members_done and not data.startswith(_GZIP_MAGIC):
            self._trailing = True  # padding after the last gzip member: ignore it
            return None
        self._inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        return data

    def _inflate(self, data: bytes) -> None:
        pending: bytes | None = data
        while pending:
            if self._inflater is None or self._inflater.eof:
                if self._inflater is not None:
                    if self._coding == "deflate":
                        return  # bytes after the end of a deflate stream carry nothing
                    self._members_done += 1
                pending = self._start(pending)
                if pending is None:
                    return
            assert self._inflater is not None
            room = self._limit + 1 - len(self._out)
            try:
                self._append(self._inflater.decompress(pending, min(room, _INFLATE_STEP)))
            except zlib.error as error:
                raise _Failed(f"corrupt {self._coding} body ({error})") from None
            # Input the cap held back, else whatever follows the end of this gzip member.
            pending = self._inflater.unconsumed_tail or (
                self._inflater.unused_data if self._inflater.eof else b""
            )


# -- per-host politeness --------------------------------------------------------------------------


@dataclass
class _HostSlot:
    semaphore: asyncio.Semaphore
    users: int = 0


class _HostGate:
    """Per-host slots and cool-downs shared by all fetches of one Fetcher.

    Hosts are keyed by name, not port: politeness is owed to the machine. Entries are removed
    when no fetch uses them, so article links to thousands of hosts leave nothing behind.
    """

    def __init__(self, per_host: int) -> None:
        self._per_host = per_host
        self._slots: dict[str, _HostSlot] = {}
        self._cool_until: dict[str, tuple[float, int]] = {}

    async def acquire(self, host: str) -> None:
        slot = self._slots.setdefault(host, _HostSlot(asyncio.Semaphore(self._per_host)))
        slot.users += 1
        try:
            await slot.semaphore.acquire()
        except BaseException:
            self._leave(host, slot)
            raise

    def release(self, host: str) -> None:
        slot = self._slots[host]
        slot.semaphore.release()
        self._leave(host, slot)

    def _leave(self, host: str, slot: _HostSlot) -> None:
        slot.users -= 1
        if slot.users == 0:
            del self._slots[host]

    def cool_down(self, host: str, seconds: float, status: int) -> None:
        now = time.monotonic()
        for expired in [name for name, (until, _) in self._cool_until.items() if until <= now]:
            del self._cool_until[expired]
        until = now + seconds
        if until > self._cool_until.get(host, (0.0, 0))[0]:
            self._cool_until[host] = (until, status)

    def pause(self, host: str) -> tuple[float, int] | None:
        """Seconds left in the host's cool-down and the status that started it, or None."""
        entry = self._cool_until.get(host)
        if entry is None:
            return None
        left = entry[0] - time.monotonic()
        if left <= 0:
            del self._cool_until[host]
            return None
        return left, entry[1]


# -- the fetcher ----------------------------------------------------------------------------------


class _NoCookies(httpx.Cookies):
    """Cookies that stay empty: a poll must not depend on, or carry, earlier answers."""

    def __init__(self) -> None:
        policy = http.cookiejar.DefaultCookiePolicy(allowed_domains=[])
        super().__init__(http.cookiejar.CookieJar(policy=policy))

    def extract_cookies(self, response: httpx.Response) -> None:
        # httpx would build a urllib request and an email message from every response, only
        # for a jar that keeps nothing: about 5 % of the CPU time of a 304.
        return None


class _Client(httpx.AsyncClient):
    """An httpx client that never keeps or sends a cookie, and knows how busy it is."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._no_cookies = _NoCookies()
        self.in_flight = 0
        self.last_used = time.monotonic()

    @property
    def cookies(self) -> httpx.Cookies:
        return self._no_cookies

    def idle_since(self, moment: float) -> bool:
        return self.in_flight == 0 and self.last_used < moment


def _socket_readable(sock: socket.socket | None) -> bool:
    """Whether a read would not block: for an idle keep-alive connection, the server closed it."""
    if sock is None or sock.fileno() < 0:
        return True
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    return bool(poller.poll(0))


class _Stream(httpcore.AsyncNetworkStream):
    """httpcore's stream, but with a cheap answer to "is_readable".

    httpcore's pool asks it of every idle connection on every request and every release, and
    anyio answers by building all of the socket's attributes (a getpeername and more) each time:
    a tenth of the CPU time of a fetch in benchmarks/bench_fetch.py. The socket does not change,
    so look it up once, and only when asked: a connection that never sits idle never is.
    """

    def __init__(self, inner: httpcore.AsyncNetworkStream) -> None:
        self._inner = inner

    @functools.cached_property
    def _socket(self) -> socket.socket | None:
        # Under TLS too: the TLS stream reports the socket it runs over.
        return self._inner.get_extra_info("socket")

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return await self._inner.read(max_bytes, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await self._inner.write(buffer, timeout)

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        return _Stream(await self._inner.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> object:
        if info == "is_readable":
            return _socket_readable(self._socket)
        return self._inner.get_extra_info(info)


class _Backend(httpcore.AsyncNetworkBackend):
    """Wraps a network backend so that its streams answer "is_readable" cheaply."""

    def __init__(self, inner: httpcore.AsyncNetworkBackend) -> None:
        self._inner = inner

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        stream = await self._inner.connect_tcp(
            host, port, timeout=timeout, local_address=local_address, socket_options=socket_options
        )
        return _Stream(stream)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        stream = await self._inner.connect_unix_socket(
            path, timeout=timeout, socket_options=socket_options
        )
        return _Stream(stream)

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def _wrap_backends(client: httpx.AsyncClient) -> None:
    """Put `_Backend` under every connection pool of `client` (proxies from the environment
    have pools of their own).

    httpx has no public hook for the network backend; httpcore's pool reads this attribute for
    every new connection (tests/fetch/test_fulltext.py covers the SSRF guard installed this way).
    """
    for transport in [client._transport, *client._mounts.values()]:
        pool = getattr(transport, "_pool", None)
        if pool is not None:
            pool._network_backend = _Backend(pool._network_backend)


def _cause(error: BaseException, kind: type[BaseException]) -> BaseException | None:
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, kind):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


# Certificates no default bundle vouches for, which a CA file can make trusted.
_UNKNOWN_ISSUERS = (
    "unable to get local issuer certificate",
    "self-signed certificate",
    "self signed certificate",
)
_CA_FILE_HINT = " (a server you trust? give its CA's certificate, or its own, as the `ca_file`)"


def _ssl_reason(error: BaseException) -> str:
    if isinstance(error, ssl.SSLCertVerificationError) and error.verify_message:
        message = error.verify_message
        hint = _CA_FILE_HINT if message.startswith(_UNKNOWN_ISSUERS) else ""
        return f"certificate verify failed: {message}{hint}"
    reason = re.sub(r"\s*\(_ssl\.c:\d+\)$", "", str(error))
    return reason or type(error).__name__


class Fetcher:
    """Fetches feeds (and article pages) through shared httpx clients, one per way out.

    Use as an async context manager. `address_check` decides which addresses `public_only`
    fetches may reach (the SSRF guard for links found in feeds); the default refuses loopback,
    private, link-local, multicast, reserved and cloud-metadata addresses. A client unused for
    `close_idle_after` seconds is closed at the next fetch (a later fetch its way opens anew).
    """

    def __init__(
        self,
        limits: HttpLimits | None = None,
        *,
        address_check: AddressCheck = address_problem,
        close_idle_after: float = IDLE_CLIENT_SECONDS,
    ) -> None:
        self.limits = limits or HttpLimits()
        quiet_noisy_loggers()
        headers = {"User-Agent": self.limits.user_agent, "Accept-Encoding": ACCEPT_ENCODING}
        timeout = httpx.Timeout(
            connect=self.limits.connect_timeout,
            read=self.limits.read_timeout,
            write=self.limits.read_timeout,
            pool=self.limits.deadline,
        )
        pool = httpx.Limits(
            max_connections=self.limits.concurrency,
            max_keepalive_connections=self.limits.concurrency,
            keepalive_expiry=5.0,
        )
        self._options: dict[str, Any] = {"headers": headers, "timeout": timeout, "limits": pool}
        self._address_check = address_check
        # By (route, public_only). Operator-configured feed URLs take the default route, with
        # the environment's proxies and CA bundle; links from feeds (`public_only`) a separate
        # pool, because a connection opened to a private address for a feed must never be
        # reused for an article link. Feeds with a proxy or CA files of their own: a client per
        # distinct route, as httpx binds both to a client's pools.
        self._clients: dict[tuple[Route, bool], _Client] = {}
        self._close_idle_after = close_idle_after
        self._global = asyncio.Semaphore(self.limits.concurrency)
        self._hosts = _HostGate(self.limits.per_host)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        for client in self._clients.values():
            await client.aclose()
        self._clients.clear()

    async def _close_idle_clients(self) -> None:
        idle_since = time.monotonic() - self._close_idle_after
        idle = [key for key, client in self._clients.items() if client.idle_since(idle_since)]
        # Out of the table first: no fetch can pick a client up while it closes.
        for client in [self._clients.pop(key) for key in idle]:
            await client.aclose()

    def _hop_check(self, route: Route) -> Callable[[httpx.URL], str | None]:
        """Why a hop of a link from a feed may not be sent. Through the feed's own proxy, which
        resolves names itself, also the hosts written as addresses (and `localhost`)."""
        proxied = route.proxy not in (None, DIRECT)
        ports = self.limits.link_ports

        def problem(url: httpx.URL) -> str | None:
            refused = link_problem(url, ports)
            if refused is None and proxied:
                refused = literal_host_problem(url.host, self._address_check)
            return refused

        return problem

    def _client_for(self, route: Route, *, public_only: bool) -> _Client:
        """The client whose pools take `route`'s way; RouteError when it cannot be built."""
        key = (route, public_only)
        client = self._clients.get(key)
        if client is None:
            client = self._clients[key] = self._new_client(route, public_only)
        return client

    def _new_client(self, route: Route, public_only: bool) -> _Client:
        options = route.client_options()
        if not public_only:
            client = _Client(**self._options, **options)
        elif options["proxy"] is None:
            # Straight to the server: the guard under every connect, and no environment proxy
            # (the address check must apply to the target, not to a proxy).
            transport = httpx.AsyncHTTPTransport(
                limits=self._options["limits"], trust_env=False, verify=options["verify"]
            )
            transport._pool._network_backend = PublicOnlyBackend(self._address_check)
            client = _Client(
                headers=self._options["headers"],
                timeout=self._options["timeout"],
                transport=transport,
                trust_env=False,
            )
        else:
            # Through the feed's own proxy, which resolves names itself: `_Attempt` checks each
            # hop's host when it is an address, and the proxy is the operator's egress control.
            client = _Client(**self._options, **{**options, "trust_env": False})
        _wrap_backends(client)  # after the guard, which it wraps
        return client

    async def fetch(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        previous_body_hash: str | None = None,
        public_only: bool = False,
        accept: str = FEED_ACCEPT,
        headers: FeedHeaders | None = None,
        route: Route | None = None,
    ) -> FetchResult:
        """GET `url`, following redirects; never raises for network or HTTP problems.

        `etag`/`last_modified` are sent back verbatim as If-None-Match/If-Modified-Since.
        `previous_body_hash` turns a 2xx with the same body into `UNCHANGED` (no body).
        `public_only` routes the fetch through the SSRF guard (for URLs found in feeds).
        `headers`: the feed's own headers, each hop getting those meant for its origin.
        `route`: the feed's own proxy and CA files (None: the environment's). A `public_only`
        fetch never takes the environment's proxies; through a route's own proxy, which
        resolves names itself, only hosts written as addresses (and `localhost`) are checked.
        The deadline starts once the fetch holds a slot for its host (queueing behind other
        fetches does not count) and covers every hop and the whole body.
        """
        started = time.monotonic()
        request_headers = {"Accept": accept}
        if etag:
            request_headers["If-None-Match"] = etag
        if last_modified:
            request_headers["If-Modified-Since"] = last_modified
        route = route or Route()
        await self._close_idle_clients()
        try:
            client = self._client_for(route, public_only=public_only)
        except RouteError as error:
            return FetchResult(url, url, Outcome.FAILED, error=str(error))
        hop_check = self._hop_check(route) if public_only else None
        attempt = _Attempt(
            self, client, url, request_headers, headers, previous_body_hash, started, hop_check
        )
        client.in_flight += 1
        try:
            async with self._global:
                result = await attempt.run()
        finally:
            client.in_flight -= 1
            client.last_used = time.monotonic()
        if log.isEnabledFor(logging.DEBUG):  # redacting the URL is not free
            log.debug(
                "fetch %s: %s%s%s in %.2f s",
                redact_url(url),
                result.outcome,
                f" {result.status}" if result.status else "",
                f" ({result.error})" if result.error else "",
                result.elapsed,
            )
        return result


class _Attempt:
    """One call of `Fetcher.fetch`: the hops, the host slot held, and the final result."""

    def __init__(
        self,
        fetcher: Fetcher,
        client: httpx.AsyncClient,
        url: str,
        headers: dict[str, str],
        feed_headers: FeedHeaders | None,
        previous_body_hash: str | None,
        started: float,
        hop_check: Callable[[httpx.URL], str | None] | None = None,
    ) -> None:
        self._limits = fetcher.limits
        self._hosts = fetcher._hosts
        self._client = client
        self._url = url
        self._headers = headers
        self._feed_headers = feed_headers
        self._previous_body_hash = previous_body_hash
        self._started = started
        self._current: httpx.URL | None = None
        self._held: str | None = None
        self._sending_since: float | None = None
        self._hop_statuses: list[int] = []
        # Why a hop may not be sent, checked before each one (links from feeds: see
        # `Fetcher._hop_check`).
        self._hop_check = hop_check

    async def run(self) -> FetchResult:
        try:
            target = self._parse(self._url)
            try:
                deferred = await self._enter(target)
                if deferred is not None:
                    return deferred
                return await self._follow(target)
            finally:
                if self._held is not None:
                    self._hosts.release(self._held)
        except _Failed as failure:
            return self._failed(failure.reason, failure.response)

    def _parse(self, url: str) -> httpx.URL:
        try:
            parsed = httpx.URL(url)
        except (httpx.InvalidURL, TypeError, ValueError) as error:
            raise _Failed(f"invalid URL ({error})") from None
        if parsed.scheme not in ("http", "https"):
            raise _Failed(f"unsupported URL scheme {parsed.scheme!r} (expected http or https)")
        if not parsed.host:
            raise _Failed("invalid URL (no host)")
        return parsed

    async def _enter(self, target: httpx.URL) -> FetchResult | None:
        """Move to `target`'s host: its cool-down, then one of its slots."""
        self._current = target
        if self._held == target.host:
            return None
        if self._held is not None:
            self._hosts.release(self._held)
            self._held = None
        pause = self._hosts.pause(target.host)
        if pause is not None:
            left, status = pause
            return self._result(
                Outcome.DEFERRED,
                retry_after=left,
                error=(
                    f"not fetched: {target.host} answered HTTP {status} with Retry-After; "
                    f"its cool-down ends in {left:.0f} s"
                ),
            )
        await self._hosts.acquire(target.host)
        self._held = target.host
        if self._sending_since is None:
            self._sending_since = time.monotonic()
        return None

    async def _follow(self, target: httpx.URL) -> FetchResult:
        deadline = asyncio.timeout(self._limits.deadline)
        visited = [target]
        try:
            async with deadline:
                while True:
                    response = await self._send(target)
                    try:
                        if response.status_code not in _REDIRECTS:
                            return await self._conclude(response)
                        target = self._redirect_target(response, target, visited)
                    finally:
                        await response.aclose()
                    visited.append(target)
                    deferred = await self._enter(target)
                    if deferred is not None:
                        return deferred
        except TimeoutError:
            if deadline.expired():
                raise _Failed(f"timed out after {_seconds(self._limits.deadline)}") from None
            raise

    async def _send(self, target: httpx.URL) -> httpx.Response:
        if self._hop_check is not None and (refused := self._hop_check(target)):
            raise _Failed(refused)
        headers = self._headers
        if self._feed_headers is not None:
            headers = merged(headers, self._feed_headers.for_url(target))
        request = self._client.build_request("GET", target, headers=headers)
        try:
            return await self._client.send(request, stream=True)
        except (httpx.HTTPError, httpx.InvalidURL, OSError) as error:
            raise _Failed(self._describe(error, target)) from None

    def _redirect_target(
        self, response: httpx.Response, current: httpx.URL, visited: list[httpx.URL]
    ) -> httpx.URL:
        status = response.status_code
        location = response.headers.get("location")
        if not location:
            raise _Failed(f"{_status_line(response)} without a Location header", response)
        try:
            target = current.join(location)
        except (httpx.InvalidURL, ValueError) as error:
            raise _Failed(
                f"{_status_line(response)} to an invalid URL ({error})", response
            ) from None
        if target.scheme not in ("http", "https"):
            raise _Failed(f"redirect to a {target.scheme!r} URL refused", response)
        if target.scheme == "http" and self._url.lower().startswith("https:"):
            # A feed configured as https stays encrypted: a downgrade is a mistake or an attack.
            raise _Failed(
                f"redirect from https to plain http refused ({redact_url(target)}); if the "
                "feed is really only served over http, configure its http:// URL",
                response,
            )
        self._hop_statuses.append(status)
        if target in visited:
            chain = " → ".join(redact_url(u) for u in [*visited, target])
            raise _Failed(f"redirect loop: {chain}", response)
        if len(self._hop_statuses) > self._limits.max_redirects:
            raise _Failed(f"too many redirects (>{self._limits.max_redirects})", response)
        return target

    async def _conclude(self, response: httpx.Response) -> FetchResult:
        status = response.status_code
        retry_after = None
        if status in _RETRY_AFTER_STATUSES:
            retry_after = retry_after_seconds(
                response.headers.get("retry-after"),
                now=dt.datetime.now(dt.UTC),
                server_date=response.headers.get("date"),
                cap=self._limits.max_retry_after,
            )
            if retry_after:
                self._hosts.cool_down(response.url.host, retry_after, status)
        if status == http.HTTPStatus.NOT_MODIFIED:
            return self._result(Outcome.NOT_MODIFIED, response)
        if not 200 <= status < 300:
            reason = _status_line(response) + _REFUSAL_HINTS.get(status, "")
            if retry_after is not None:
                reason += f"; retry after {retry_after:.0f} s"
            return self._result(Outcome.FAILED, response, error=reason, retry_after=retry_after)
        body = await self._read_body(response)
        digest = hashlib.sha256(body).hexdigest()
        if digest == self._previous_body_hash:
            return self._result(Outcome.UNCHANGED, response, body_hash=digest)
        return self._result(Outcome.FETCHED, response, body=body, body_hash=digest)

    async def _read_body(self, response: httpx.Response) -> bytes:
        cap = self._limits.max_wire_bytes
        declared = response.headers.get("content-length", "").strip()
        if declared.isdigit() and int(declared) > cap:
            raise _Failed(f"body exceeds {_size(cap)} (Content-Length {declared})", response)
        coding = response.headers.get("content-encoding", "identity").strip().lower() or "identity"
        try:
            reader = _BodyReader(coding, self._limits.max_decoded_bytes)
            received = 0
            async for chunk in response.aiter_raw():
                received += len(chunk)
                if received > cap:
                    raise _Failed(f"body exceeds {_size(cap)}")
                reader.feed(chunk)
            return reader.finish()
        except _Failed as failure:
            raise _Failed(failure.reason, response) from None
        except (httpx.HTTPError, OSError) as error:
            raise _Failed(self._describe(error, response.url), response) from None

    def _describe(self, error: BaseException, url: httpx.URL) -> str:
        limits = self._limits
        proxy = proxy_for(self._client, url)
        # Through a proxy, what fails to resolve or to connect is the proxy, not the server.
        host = f"proxy {proxy}" if proxy else url.host
        address = f"proxy {proxy}" if proxy else f"{url.host}:{port_of(url)}"
        if isinstance(error, httpx.ProxyError):
            return f"proxy {proxy or '(unknown)'} refused the request: {error}" + (
                _PROXY_CREDENTIALS_HINT if "407" in str(error) else ""
            )
        if isinstance(error, httpx.ConnectTimeout):
            return f"connect to {host} timed out after {_seconds(limits.connect_timeout)}"
        if isinstance(error, httpx.ReadTimeout):
            return f"read timed out (no data for {_seconds(limits.read_timeout)})"
        if isinstance(error, httpx.TimeoutException):
            return f"timed out ({type(error).__name__})"
        if refused := _cause(error, AddressRefused):
            return str(refused)
        if lookup := _cause(error, socket.gaierror):
            detail = lookup.strerror if isinstance(lookup, OSError) and lookup.strerror else lookup
            return f"DNS lookup failed: {host} ({detail})"
        if tls := _cause(error, ssl.SSLError):
            return f"TLS error: {_ssl_reason(tls)}"
        if _cause(error, ConnectionRefusedError) or "connection attempts failed" in str(error):
            return f"connection refused by {address}"
        if isinstance(error, httpx.RemoteProtocolError):
            if "complete message body" in str(error):
                return "connection closed before the body was complete"
            return f"protocol error: {error}"
        if isinstance(error, httpx.UnsupportedProtocol | httpx.InvalidURL):
            return f"invalid URL ({error})"
        if isinstance(error, httpx.LocalProtocolError):
            # Its message quotes what it refused, which may be a header holding a secret.
            return "the request could not be sent: the HTTP library refused a header of it"
        if isinstance(error, httpx.ConnectError):
            return f"connection to {host} failed: {error or type(error).__name__}"
        if isinstance(error, httpx.ReadError):
            return f"connection lost while reading: {error or type(error).__name__}"
        return f"{type(error).__name__}: {error}"

    def _result(
        self,
        outcome: Outcome,
        response: httpx.Response | None = None,
        *,
        body: bytes | None = None,
        body_hash: str | None = None,
        error: str | None = None,
        retry_after: float | None = None,
    ) -> FetchResult:
        final = self._current or self._url
        moved = (
            self._hop_statuses
            and outcome in (Outcome.FETCHED, Outcome.NOT_MODIFIED, Outcome.UNCHANGED)
            and all(status in _PERMANENT_REDIRECTS for status in self._hop_statuses)
        )
        headers = dict(response.headers.items()) if response is not None else {}
        now = time.monotonic()
        return FetchResult(
            url=self._url,
            final_url=str(final),
            outcome=outcome,
            status=response.status_code if response is not None else None,
            headers=headers,
            body=body,
            etag=headers.get("etag"),
            last_modified=headers.get("last-modified"),
            body_hash=body_hash,
            permanent_redirect_to=str(final) if moved else None,
            retry_after=retry_after,
            error=error,
            elapsed=now - self._started,
            response_seconds=None if self._sending_since is None else now - self._sending_since,
        )

    def _failed(self, reason: str, response: httpx.Response | None) -> FetchResult:
        return self._result(Outcome.FAILED, response, error=reason)
