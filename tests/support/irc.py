"""A private IRC server (ngircd, from Debian) on loopback and a client that sits in a channel.

`ngircd_binary()` is None where ngircd is not installed; tests then skip.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from tests.support.sockets import free_port
from tests.support.waiting import wait_for

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
Name = {channel}
Modes = tn
"""


def ngircd_binary() -> str | None:
    found = shutil.which("ngircd")
    if found:
        return found
    candidates = ("/usr/sbin/ngircd", "/usr/local/sbin/ngircd")
    return next((path for path in candidates if Path(path).exists()), None)


def _listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
    except OSError:
        return False
    return True


@contextlib.contextmanager
def ngircd(directory: Path, channel: str = "#alerts") -> Iterator[int]:
    """Run ngircd in the foreground on a free port (yielded) with one predefined channel."""
    binary = ngircd_binary()
    if binary is None:
        raise FileNotFoundError("ngircd is not installed (apt-get install ngircd)")
    port = free_port()
    config = directory / "ngircd.conf"
    config.write_text(NGIRCD_CONFIG.format(port=port, channel=channel))
    process = subprocess.Popen(
        [binary, "-n", "-f", str(config)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        if not wait_for(lambda: _listening(port), 10):
            process.kill()
            output = process.communicate()[0].decode(errors="replace")
            raise RuntimeError(f"ngircd did not start:\n{output}")
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
    """A minimal IRC client that joins `channel` and records every line it receives."""

    def __init__(self, port: int, channel: str, nick: str = "listener") -> None:
        self._seen: list[str] = []
        self._lock = threading.Lock()
        self._socket = socket.create_connection(("127.0.0.1", port), timeout=10)
        self._buffer = b""
        self._send(f"NICK {nick}")
        self._send(f"USER {nick} 0 * :watcher test listener")
        self._read_until(" 001 ")
        self._send(f"JOIN {channel}")
        self._read_until(" 366 ")
        self._socket.settimeout(0.2)
        self._running = True
        self._thread = threading.Thread(target=self._pump, name="irc-listener", daemon=True)
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
        raise AssertionError(f"the IRC server never sent {marker.strip()}")

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
                with self._lock:
                    self._seen.append(text)

    def privmsgs(self) -> list[str]:
        """The text of every channel message received so far."""
        with self._lock:
            lines = list(self._seen)
        return [line.split(" :", 1)[1] for line in lines if " PRIVMSG " in line]

    def close(self) -> None:
        self._running = False
        with contextlib.suppress(OSError):
            self._send("QUIT :done")
        self._thread.join(2)
        self._socket.close()
