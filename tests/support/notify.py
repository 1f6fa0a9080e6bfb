"""A datagram socket standing in for systemd's NOTIFY_SOCKET."""

from __future__ import annotations

import socket
import threading
from pathlib import Path


class NotifySocket:
    """Receives the daemon's datagrams in a thread; `messages` holds each one's fields."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._socket.bind(str(path))
        self._socket.settimeout(0.2)
        self._messages: list[list[str]] = []
        self._lock = threading.Lock()
        self._running = True
        self._thread = threading.Thread(target=self._receive, daemon=True)
        self._thread.start()

    def _receive(self) -> None:
        while self._running:
            try:
                data = self._socket.recv(4096)
            except TimeoutError:
                continue
            with self._lock:
                self._messages.append(data.decode().split("\n"))

    @property
    def messages(self) -> list[list[str]]:
        with self._lock:
            return list(self._messages)

    def firsts(self) -> list[str]:
        """The first field of every message, in order (READY=1, WATCHDOG=1, …)."""
        return [fields[0] for fields in self.messages]

    def close(self) -> None:
        self._running = False
        self._thread.join(2)
        self._socket.close()
