"""What the daemon does at run time, step by step, for running inside the unit's sandbox.

Prints `ok STEP` after each step that worked; a step that fails ends the script with its
traceback. Everything stays on loopback and in a temporary directory.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import importlib
import os
import pkgutil
import signal
import socket
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

FEED = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Loopback wire</title><link>http://127.0.0.1/</link>
<item><title>Border crossing reopens after repairs</title><link>http://127.0.0.1/a/1</link>
<guid>wire-1</guid><pubDate>Tue, 20 May 2025 08:00:00 GMT</pubDate>
<description>Trucks queued at the reopened gate on Tuesday morning.</description></item>
<item><title>Ministers meet on water sharing</title><link>http://127.0.0.1/a/2</link>
<guid>wire-2</guid><pubDate>Tue, 20 May 2025 09:30:00 GMT</pubDate>
<description>Talks on the river agreement resumed after a year.</description></item>
</channel></rss>"""

ARTICLE_PAGE = (
    "<html><body><article><h1>Gate reopens</h1>"
    + "<p>Trucks carrying produce crossed the border for the first time in weeks. </p>" * 8
    + "</article></body></html>"
)


def step(name: str) -> None:
    print(f"ok {name}", flush=True)


class LoopbackHandler(BaseHTTPRequestHandler):
    posted: ClassVar[list[bytes]] = []

    def do_GET(self) -> None:
        body = FEED if self.path == "/feed" else ARTICLE_PAGE.encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/rss+xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        LoopbackHandler.posted.append(self.rfile.read(int(self.headers["Content-Length"])))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


async def poll_parse_notify(port: int) -> None:
    import apprise
    import httpx
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    from watcher.feeds.parse import FeedContext
    from watcher.feeds.worker import ParserPool

    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        loop.add_signal_handler(signum, lambda: None)
    step("signal handlers")

    scheduler = AsyncIOScheduler()
    scheduler.start()
    scheduler.shutdown(wait=False)
    step("scheduler")

    async with httpx.AsyncClient() as client:
        response = await client.get(f"http://127.0.0.1:{port}/feed")
    step("fetch")

    async with ParserPool(max_workers=2) as pool:
        feed = FeedContext(name="loopback", url=f"http://127.0.0.1:{port}/feed")
        parsed = await pool.parse(
            response.content, dict(response.headers), feed, dt.datetime.now(dt.UTC)
        )
    assert len(parsed.entries) == 2, parsed
    step("parse in worker processes")

    notifier = apprise.Apprise()
    notifier.add(f"json://127.0.0.1:{port}/hook")
    assert await notifier.async_notify(title="watcher", body="sandbox check")
    assert LoopbackHandler.posted
    step("apprise delivery")


def main() -> None:
    import re2
    import trafilatura

    import watcher
    from watcher.sdnotify import Notifier
    from watcher.store import Store
    from watcher.store.engine import make_engine
    from watcher.store.location import database_url

    for module in pkgutil.walk_packages(watcher.__path__, "watcher."):
        importlib.import_module(module.name)
    step("import")

    server = ThreadingHTTPServer(("127.0.0.1", 0), LoopbackHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    asyncio.run(poll_parse_notify(server.server_address[1]))
    server.shutdown()

    assert trafilatura.extract(ARTICLE_PAGE)
    assert re2.search(r"(?i)gate\s+reopens", "The Gate reopens")
    step("extract and match")

    with tempfile.TemporaryDirectory() as state:
        with Store.open(environ={"STATE_DIRECTORY": state}) as store:
            store.ping()
        step("sqlite store")
        receiver = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        receiver.bind(str(Path(state) / "notify"))
        Notifier({"NOTIFY_SOCKET": str(Path(state) / "notify")}).ready()
        assert receiver.recv(64) == b"READY=1"
        step("sd_notify")

    postgres = os.environ.get("WATCHER_TEST_POSTGRES_URL")
    if postgres:
        # A query, not Store.open: migrating the shared test database is other tests' business.
        engine = make_engine(database_url(postgres))
        with engine.connect() as connection:
            assert connection.exec_driver_sql("SELECT 1").scalar() == 1
        engine.dispose()
        step("postgresql connection")


if __name__ == "__main__":
    # The parser pool's forkserver re-imports this file in its workers: run only as a script.
    main()
