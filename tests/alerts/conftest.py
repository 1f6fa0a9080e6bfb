"""Alert payloads and real peers on loopback: an SMTP server, a webhook endpoint, an IRC server."""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import json
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from watcher.alerts.payload import AlertPayload, Snippet

_names = itertools.count(1)


@pytest.fixture
def notifier_name() -> str:
    """A fresh notifier name per test, so no test reuses another's cached destinations."""
    return f"n{next(_names)}"


def make_payload(**fields) -> AlertPayload:
    values = dict(
        rule_id="border",
        rule_title="Border security",
        severity="high",
        score=7.5,
        title="Patrols double along the northern frontier",
        date=dt.date(2025, 5, 20),
        section="World",
        summary="Officials announced more patrols after a week of crossings.",
        url="https://news.example/world/patrols",
        source="Example Wire",
        sources=["Example Wire", "Daily Example"],
        feed="example-world",
        published_at=dt.datetime(2025, 5, 20, 8, 30, tzinfo=dt.UTC),
        snippets=[
            Snippet(
                field="body",
                block=0,
                term="border crossing",
                text="border crossings",
                before="…guards reported more ",
                after=" near the river on Monday…",
            ),
            Snippet(
                field="title",
                term="patrol",
                text="Patrols",
                before="",
                after=" double along the northern frontier",
            ),
        ],
    )
    values.update(fields)
    return AlertPayload(**values)


@pytest.fixture
def payload() -> AlertPayload:
    return make_payload()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(predicate: Callable[[], bool], within: float = 20.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


# E-mail


@dataclass
class Mailbox:
    port: int
    received: list[EmailMessage] = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope) -> str:
        self.received.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"

    def url(self, **params: str) -> str:
        query = {"from": "alerts@watcher.test", "to": "desk@example.test", "mode": "insecure"}
        query.update(params)
        return f"mailto://127.0.0.1:{self.port}?" + "&".join(f"{k}={v}" for k, v in query.items())


@pytest.fixture
def smtp_server() -> Iterator[Mailbox]:
    mailbox = Mailbox(free_port())
    controller = Controller(mailbox, hostname="127.0.0.1", port=mailbox.port)
    controller.start()
    try:
        yield mailbox
    finally:
        controller.stop()


# Webhook


@dataclass
class Webhook:
    port: int
    received: list[dict] = field(default_factory=list)

    def url(self, path: str = "/hook") -> str:
        return f"json://127.0.0.1:{self.port}{path}"


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    hook = Webhook(0)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            body = self.rfile.read(length)
            if self.path.startswith("/fail"):
                self.send_response(500)
            else:
                hook.received.append({"path": self.path, "json": json.loads(body)})
                self.send_response(200)
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    hook.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield hook
    finally:
        server.shutdown()
        server.server_close()


# IRC

NGIRCD_CONFIG = """\
[Global]
Name = irc.watcher.test
Info = watcher test server
Listen = 127.0.0.1
Ports = {port}
MotdPhrase = watcher tests
[Limits]
PingTimeout = 120
PongTimeout = 20
MaxConnectionsIP = 0
[Options]
DNS = no
Ident = no
PAM = no
[Channel]
Name = #alerts
Modes = tn
"""


@pytest.fixture
def irc_server(tmp_path: Path) -> Iterator[int]:
    """A private ngircd on a free loopback port, run in the foreground (`-n`)."""
    binary = shutil.which("ngircd") or next(
        (p for p in ("/usr/sbin/ngircd", "/usr/local/sbin/ngircd") if Path(p).exists()), None
    )
    if binary is None:
        pytest.skip("ngircd is not installed (apt-get install ngircd)")
    port = free_port()
    config = tmp_path / "ngircd.conf"
    config.write_text(NGIRCD_CONFIG.format(port=port))
    process = subprocess.Popen(
        [binary, "-n", "-f", str(config)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:

        def listening() -> bool:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            except OSError:
                return False
            return True

        if not wait_for(listening, 10):
            process.kill()
            output = process.communicate()[0].decode(errors="replace")
            pytest.fail(f"ngircd did not start:\n{output}")
        yield port
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if process.stdout:
            process.stdout.close()


class IrcListener:
    """A minimal IRC client that sits in a channel and records every line it receives."""

    def __init__(self, port: int, channel: str, nick: str = "listener") -> None:
        self.seen: list[str] = []
        self._socket = socket.create_connection(("127.0.0.1", port), timeout=10)
        self._buffer = b""
        self._send(f"NICK {nick}")
        self._send(f"USER {nick} 0 * :watcher test listener")
        self._read_until(" 001 ")
        self._send(f"JOIN {channel}")
        self._read_until(" 366 ")
        self._socket.settimeout(0.2)
        self._thread = threading.Thread(target=self._pump, daemon=True)
        self._running = True
        self._thread.start()

    def _send(self, line: str) -> None:
        self._socket.sendall(line.encode() + b"\r\n")

    def _lines(self) -> Iterator[str]:
        while b"\r\n" in self._buffer:
            line, self._buffer = self._buffer.split(b"\r\n", 1)
            text = line.decode(errors="replace")
            if text.startswith("PING"):
                self._send("PONG" + text[4:])
            yield text

    def _read_until(self, marker: str) -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            self._buffer += self._socket.recv(4096)
            for text in self._lines():
                if marker in text:
                    return
        raise AssertionError(f"IRC server never sent {marker.strip()}")

    def _pump(self) -> None:
        while self._running:
            try:
                chunk = self._socket.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            if not chunk:
                return
            self._buffer += chunk
            for text in self._lines():
                self.seen.append(text)

    def privmsgs(self) -> list[str]:
        return [line.split(" :", 1)[1] for line in self.seen if " PRIVMSG " in line]

    def close(self) -> None:
        self._running = False
        with contextlib.suppress(OSError):
            self._send("QUIT :done")
        self._thread.join(2)
        self._socket.close()


@pytest.fixture
def irc_listener(irc_server: int) -> Iterator[IrcListener]:
    listener = IrcListener(irc_server, "#alerts")
    try:
        yield listener
    finally:
        listener.close()
