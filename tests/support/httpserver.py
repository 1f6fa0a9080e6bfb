"""A real HTTP/1.1 server on 127.0.0.1 (port 0) whose every path answers as the test says.

It runs its own asyncio loop in a daemon thread, so it keeps serving while the test's loop is
busy, and it works the same for sync and async tests. Replies can carry any status and headers,
a bytes body or a lazily generated stream (a gigabyte never exists in memory: it is produced
chunk by chunk as the client reads, and stops when the client hangs up), gzip or deflate
compression, a delay before answering, a slow drip of one byte at a time, or no answer at all.
Every request is recorded (method, target, lower-cased headers), and the server counts how many
requests it was answering at the same time. With `tls=` (tests/support/tls.py) it serves HTTPS.

    with LoopbackServer() as server:
        server.route("/feed", Reply(headers={"Content-Type": "application/rss+xml"}, body=xml))
        server.route("/old", Reply.redirect("/feed", status=301))
        server.route("/slow", Reply(body=b"<rss/>", drip=1.0))
        server.route("/cond", lambda req: Reply(status=304 if req.header("if-none-match") else 200))
        url = server.url("/feed")
"""

from __future__ import annotations

import asyncio
import http
import itertools
import ssl
import threading
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

StreamFactory = Callable[[], Iterable[bytes]]
Encoding = Literal["gzip", "deflate", "raw-deflate"]
_WBITS: dict[str, int] = {"gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}
_CONTENT_ENCODING: dict[str, str] = {"gzip": "gzip", "deflate": "deflate", "raw-deflate": "deflate"}


@dataclass(frozen=True)
class SeenRequest:
    """One request as the server received it."""

    method: str
    target: str
    headers: dict[str, str]
    connection: int

    @property
    def path(self) -> str:
        return self.target.split("?", 1)[0]

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass(frozen=True)
class Reply:
    """How the server answers one request.

    body: bytes, or a function returning an iterable of chunks (streamed lazily, chunked
    transfer unless `content_length` is given). encoding: compress the body and label it with
    Content-Encoding ("raw-deflate" is deflate without the zlib header, as some servers send).
    content_length: declare this length instead of the true one (the connection is closed
    afterwards). delay: seconds to wait before answering. drip: seconds between single bytes
    of the body. hang: read the request and never answer.
    """

    status: int = 200
    headers: Mapping[str, str] | Sequence[tuple[str, str]] = ()
    body: bytes | StreamFactory = b""
    encoding: Encoding | None = None
    content_length: int | None = None
    delay: float = 0.0
    drip: float | None = None
    hang: bool = False

    @classmethod
    def redirect(cls, location: str, status: int = 302) -> Reply:
        return cls(status=status, headers={"Location": location})

    def header_pairs(self) -> list[tuple[str, str]]:
        pairs = self.headers.items() if isinstance(self.headers, Mapping) else self.headers
        return list(pairs)


Handler = Callable[[SeenRequest], Reply]


def zeros(total: int, chunk: int = 1 << 20) -> StreamFactory:
    """A stream of `total` zero bytes, made one chunk at a time as the client reads."""

    def generate() -> Iterator[bytes]:
        block = bytes(chunk)
        left = total
        while left > 0:
            yield block[: min(chunk, left)]
            left -= chunk

    return generate


def compress(data: bytes, encoding: Encoding) -> bytes:
    compressor = _compressor(encoding)
    return compressor.compress(data) + compressor.flush()


def _compressor(encoding: Encoding) -> zlib._Compress:
    return zlib.compressobj(wbits=_WBITS.get(encoding, -zlib.MAX_WBITS))


def _compressed_stream(chunks: Iterable[bytes], encoding: Encoding) -> Iterator[bytes]:
    compressor = _compressor(encoding)
    for chunk in chunks:
        if out := compressor.compress(chunk):
            yield out
    yield compressor.flush()


@dataclass
class _Counters:
    active: int = 0
    peak_active: int = 0
    connections: int = 0
    requests: list[SeenRequest] = field(default_factory=list)


class LoopbackServer:
    """Start with `start()` or `with`; `url(path)` gives the address of a path."""

    def __init__(self, host: str = "127.0.0.1", tls: ssl.SSLContext | None = None) -> None:
        """`tls`: serve HTTPS with this server-side context."""
        self.host = host
        self.tls = tls
        self.port = 0
        self._routes: dict[str, Reply | Handler] = {}
        self._counters = _Counters()
        self._lock = threading.Lock()
        self._connection_ids = itertools.count(1)
        self._loop = asyncio.new_event_loop()
        self._thread: threading.Thread | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    # -- configuration and inspection (from the test's thread) ---------------------------------

    def route(self, path: str, reply: Reply | Handler) -> None:
        """Answer `path` (matched with its query string first, then without) with `reply`."""
        self._routes[path] = reply

    def url(self, path: str = "/", host: str | None = None) -> str:
        scheme = "https" if self.tls else "http"
        return f"{scheme}://{host or self.host}:{self.port}{path}"

    @property
    def requests(self) -> list[SeenRequest]:
        with self._lock:
            return list(self._counters.requests)

    def requests_to(self, path: str) -> list[SeenRequest]:
        return [request for request in self.requests if request.path == path]

    @property
    def peak_active(self) -> int:
        """The most requests the server was answering at the same time."""
        with self._lock:
            return self._counters.peak_active

    @property
    def open_connections(self) -> int:
        """Connections the clients have not closed yet (kept alive, or being answered)."""
        with self._lock:
            return self._counters.connections

    # -- life cycle ----------------------------------------------------------------------------

    def start(self) -> LoopbackServer:
        ready = threading.Event()
        self._thread = threading.Thread(
            target=self._run, args=(ready,), name="loopback-http", daemon=True
        )
        self._thread.start()
        if not ready.wait(5):
            raise RuntimeError("the loopback HTTP server did not start within 5 s")
        return self

    def stop(self) -> None:
        if self._thread is None:
            return
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._thread = None

    def __enter__(self) -> LoopbackServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _run(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(
            asyncio.start_server(self._serve_connection, self.host, 0, ssl=self.tls)
        )
        self.port = server.sockets[0].getsockname()[1]
        ready.set()
        self._loop.run_forever()
        server.close()
        for task in self._tasks:
            task.cancel()
        self._loop.run_until_complete(asyncio.gather(*self._tasks, return_exceptions=True))
        self._loop.run_until_complete(server.wait_closed())
        self._loop.close()

    # -- serving (on the server's thread) -----------------------------------------------------

    async def _serve_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        connection = next(self._connection_ids)
        with self._lock:
            self._counters.connections += 1
        try:
            while True:
                request = await self._read_request(reader, connection)
                if request is None:
                    break
                if isinstance(request, str):
                    writer.write(b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n")
                    await writer.drain()
                    break
                if not await self._answer(request, writer):
                    break
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass  # the client hung up, often on purpose (a size cap or a deadline)
        except asyncio.CancelledError:
            pass  # the server is stopping; ending quietly keeps asyncio from logging it
        finally:
            writer.close()
            self._tasks.discard(task)
            with self._lock:
                self._counters.connections -= 1

    async def _read_request(
        self, reader: asyncio.StreamReader, connection: int
    ) -> SeenRequest | str | None:
        first = await reader.read(1)
        if not first:
            return None
        if not (first.isalpha() and first.isupper()):
            return "not HTTP"  # e.g. a TLS ClientHello sent to this plain-HTTP port
        head = (first + await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
        request_line, *header_lines = head.split("\r\n")
        method, target, _version = request_line.split(" ", 2)
        headers: dict[str, str] = {}
        for line in header_lines:
            if line:
                name, _, value = line.partition(":")
                name, value = name.strip().lower(), value.strip()
                # A header sent twice reads as one list, as HTTP combines them.
                headers[name] = f"{headers[name]}, {value}" if name in headers else value
        if length := int(headers.get("content-length", "0")):
            await reader.readexactly(length)
        request = SeenRequest(method, target, headers, connection)
        with self._lock:
            self._counters.requests.append(request)
        return request

    def _reply_for(self, request: SeenRequest) -> Reply:
        route = self._routes.get(request.target) or self._routes.get(request.path)
        if route is None:
            return Reply(status=404, headers={"Content-Type": "text/plain"}, body=b"no such path")
        return route if isinstance(route, Reply) else route(request)

    async def _answer(self, request: SeenRequest, writer: asyncio.StreamWriter) -> bool:
        """Send the reply; True when the connection can serve another request."""
        with self._lock:
            self._counters.active += 1
            self._counters.peak_active = max(self._counters.peak_active, self._counters.active)
        try:
            reply = self._reply_for(request)
            if reply.delay:
                await asyncio.sleep(reply.delay)
            if reply.hang:
                await asyncio.Event().wait()  # until the server stops
            return await self._send(request, reply, writer)
        finally:
            with self._lock:
                self._counters.active -= 1

    async def _send(self, request: SeenRequest, reply: Reply, writer: asyncio.StreamWriter) -> bool:
        headers = reply.header_pairs()
        if reply.encoding:
            headers.append(("Content-Encoding", _CONTENT_ENCODING[reply.encoding]))
        keep_alive = request.header("connection") != "close" and reply.content_length is None
        streamed = not isinstance(reply.body, bytes)
        if isinstance(reply.body, bytes):
            data = compress(reply.body, reply.encoding) if reply.encoding else reply.body
            chunks: Iterable[bytes] = [data]
            declared = len(data) if reply.content_length is None else reply.content_length
            headers.append(("Content-Length", str(declared)))
        else:
            chunks = reply.body()
            if reply.encoding:
                chunks = _compressed_stream(chunks, reply.encoding)
            if reply.content_length is None:
                headers.append(("Transfer-Encoding", "chunked"))
            else:
                headers.append(("Content-Length", str(reply.content_length)))
        if not keep_alive:
            headers.append(("Connection", "close"))
        chunked = streamed and reply.content_length is None
        try:
            phrase = http.HTTPStatus(reply.status).phrase
        except ValueError:
            phrase = "Unknown"
        head = f"HTTP/1.1 {reply.status} {phrase}\r\n"
        head += "".join(f"{name}: {value}\r\n" for name, value in headers) + "\r\n"
        writer.write(head.encode("latin-1"))
        await writer.drain()
        if request.method == "HEAD":
            return keep_alive
        for chunk in chunks:
            pieces = [bytes([byte]) for byte in chunk] if reply.drip is not None else [chunk]
            for piece in pieces:
                if not piece:
                    continue
                writer.write(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
                await writer.drain()
                if reply.drip is not None:
                    await asyncio.sleep(reply.drip)
        if chunked:
            writer.write(b"0\r\n\r\n")
            await writer.drain()
        return keep_alive
