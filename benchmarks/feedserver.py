"""A small, fast HTTP/1.1 server for the benchmarks, so that the server is never the bottleneck.

One asyncio loop, raw `asyncio.Protocol` parsing (no http.server, no per-request task), keep-alive
and pipelining, request bodies by Content-Length. It listens on one port of several loopback
addresses (127.0.1.1, 127.0.1.2, …): feeds spread over many hosts, as real ones are, so a
per-host connection limit applies as it would in production and not to one giant host.

A *site* answers requests: `site(method, path, headers, body) -> bytes` returns the whole
response (status line, headers and body); `response()` builds one. Run the server in a thread
of the benchmark (`FeedServer(site, hosts).start()`) or, for the poll benchmark, in a process of
its own (`python benchmarks/feedserver.py --feeds N`) so that it never competes with the code
under test for the interpreter lock. In that mode the site serves feeds from `feedgen`, and
`GET /_control/<mode>/<generation>` switches every feed at once:

* `conditional` — 200 with ETag and Last-Modified; 304 when If-None-Match or
  If-Modified-Since matches;
* `ignore-validators` — the same 200 and validators, but never a 304.

Generation `FOLLOWUP + k` (k = 1, 2, …, `--followups` of them) is generation 1 with `k` newer
items on top (`feedgen.followup_xml`): going from one to the next, every feed lists one new
entry among 29 it listed before.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import socket
import sys
import threading
from collections.abc import Callable, Iterable, Sequence
from email.utils import formatdate

Site = Callable[[str, str, dict[str, str], bytes], bytes]

_PHRASES = {200: "OK", 204: "No Content", 304: "Not Modified", 404: "Not Found", 400: "Bad Request"}


def response(status: int, headers: Iterable[tuple[str, str]] = (), body: bytes = b"") -> bytes:
    head = [f"HTTP/1.1 {status} {_PHRASES.get(status, 'Status')}"]
    head += [f"{name}: {value}" for name, value in headers]
    if status not in (204, 304):
        head.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body


def loopback_hosts(count: int) -> list[str]:
    """`count` distinct loopback addresses: 127.0.1.1, 127.0.1.2, … (Linux routes all of
    127.0.0.0/8 to the loopback interface)."""
    return [f"127.0.{1 + n // 250}.{1 + n % 250}" for n in range(count)]


class _Connection(asyncio.Protocol):
    def __init__(self, site: Site) -> None:
        self._site = site
        self._buffer = bytearray()
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        while self._transport is not None:
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self._buffer[:end].decode("latin-1").split("\r\n")
            headers = {}
            for line in head[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            length = int(headers.get("content-length") or 0)
            if len(self._buffer) < end + 4 + length:
                return
            body = bytes(self._buffer[end + 4 : end + 4 + length])
            del self._buffer[: end + 4 + length]
            try:
                method, target, _ = head[0].split(" ", 2)
                answer = self._site(method, target, headers, body)
            except ValueError:
                answer = response(400, [("Connection", "close")])
                headers["connection"] = "close"
            self._transport.write(answer)
            if headers.get("connection", "").lower() == "close":
                self._transport.close()
                self._transport = None

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None


class FeedServer:
    """Serves `site` on one port of every address in `hosts`."""

    def __init__(self, site: Site, hosts: Sequence[str] = ("127.0.0.1",)) -> None:
        self.site = site
        self.hosts = list(hosts)
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._servers: list[asyncio.Server] = []

    def url(self, path: str, host: str | None = None) -> str:
        return f"http://{host or self.hosts[0]}:{self.port}{path}"

    async def listen(self) -> None:
        """Bind every address on one free port (retrying when another program holds it)."""
        loop = asyncio.get_running_loop()
        for _ in range(20):
            sockets = []
            try:
                for host in self.hosts:
                    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                    sockets.append(sock)
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                    sock.bind((host, sockets[0].getsockname()[1] if len(sockets) > 1 else 0))
                    sock.listen(1024)
            except OSError:
                for sock in sockets:
                    sock.close()
                continue
            self.port = sockets[0].getsockname()[1]
            for sock in sockets:
                server = await loop.create_server(lambda: _Connection(self.site), sock=sock)
                self._servers.append(server)
            return
        raise RuntimeError("no port free on every loopback address")

    def start(self) -> FeedServer:
        """Serve from a thread of this process."""
        ready = threading.Event()

        def run() -> None:
            self._loop = asyncio.new_event_loop()
            self._loop.run_until_complete(self.listen())
            ready.set()
            self._loop.run_forever()
            for server in self._servers:
                server.close()
            self._loop.close()

        self._thread = threading.Thread(target=run, name="feed-server", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("the benchmark server did not start")
        return self

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(5)


# -- the poll benchmark's site, run as a process ----------------------------------------------


FOLLOWUP = 1000


class GeneratedFeeds:
    """Feeds 0…n-1 of `feedgen` in every generation asked for, answers prebuilt."""

    def __init__(self, feeds: int, generations: Sequence[int], followups: int = 0) -> None:
        from feedgen import feed_xml, followup_xml  # the benchmarks directory is on sys.path

        def document(feed: int, generation: int) -> bytes:
            if generation > FOLLOWUP:
                return followup_xml(feed, 1, generation - FOLLOWUP)
            return feed_xml(feed, generation)

        self.mode = "conditional"
        self.generation = generations[0]
        self._ok: dict[tuple[int, int], bytes] = {}
        self._etags: dict[tuple[int, int], tuple[str, str]] = {}
        for generation in [*generations, *(FOLLOWUP + k for k in range(1, followups + 1))]:
            modified = formatdate(1_747_000_000 + 3600 * generation, usegmt=True)
            for feed in range(feeds):
                etag = f'"{feed}-{generation}"'
                self._etags[feed, generation] = (etag, modified)
                headers = [
                    ("Content-Type", "application/rss+xml; charset=utf-8"),
                    ("ETag", etag),
                    ("Last-Modified", modified),
                ]
                self._ok[feed, generation] = response(200, headers, document(feed, generation))
        self._not_modified = {
            key: response(304, [("ETag", etag)]) for key, (etag, _) in self._etags.items()
        }

    def __call__(self, method: str, path: str, headers: dict[str, str], body: bytes) -> bytes:
        parts = path.strip("/").split("/")
        if parts[0] == "_control" and len(parts) == 3:
            self.mode, self.generation = parts[1], int(parts[2])
            return response(204)
        if parts[0] != "feeds" or len(parts) != 2 or not parts[1].isdigit():
            return response(404)
        key = (int(parts[1]), self.generation)
        if key not in self._ok:
            return response(404)
        if self.mode == "conditional":
            etag, modified = self._etags[key]
            if headers.get("if-none-match") == etag or headers.get("if-modified-since") == modified:
                return self._not_modified[key]
        return self._ok[key]


def main() -> None:
    parser = argparse.ArgumentParser(description="serve generated feeds for bench_poll.py")
    parser.add_argument("--feeds", type=int, required=True)
    parser.add_argument("--hosts", type=int, default=100)
    parser.add_argument("--generations", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--followups", type=int, default=0)
    args = parser.parse_args()
    site = GeneratedFeeds(args.feeds, args.generations, args.followups)
    server = FeedServer(site, loopback_hosts(args.hosts))

    async def serve() -> None:
        await server.listen()
        print(f"READY {server.port}", flush=True)
        # Serve until the benchmark closes our standard input.
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve())


if __name__ == "__main__":
    main()
