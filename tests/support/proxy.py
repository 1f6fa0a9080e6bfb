"""Real proxies on 127.0.0.1, each in a process of its own, asking for credentials and logging
what they forward to a file the test can read: an HTTP forward proxy (proxy.py) and a SOCKS5
proxy (pproxy)."""

from __future__ import annotations

import os
import subprocess
import sys
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Self

from tests.support.sockets import free_port
from tests.support.waiting import wait_for

USER = "reader"
PASSWORD = "pr0xy-pa55"


class _ProxyProcess(ABC):
    """A proxy process on 127.0.0.1 that logs what it forwards to `log`; subclasses start it."""

    scheme = ""

    def __init__(self, log: Path) -> None:
        self.log = log
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None

    def url(self, user: str = USER, password: str = PASSWORD) -> str:
        return f"{self.scheme}://{user}:{password}@127.0.0.1:{self.port}"

    def saw(self, text: str) -> bool:
        """Whether its log holds `text`."""
        return self.log.exists() and text in self.log.read_text(encoding="utf-8")

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(10)
            self._process = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @abstractmethod
    def start(self) -> None:
        """Start the process; `port` is set once it listens."""


class ForwardProxy(_ProxyProcess):
    """An HTTP proxy (proxy.py) asking for `USER` and `PASSWORD`; its access log names each
    request as `GET host:port/path`, and each tunnel as `CONNECT host:port`."""

    scheme = "http"

    def __init__(self, directory: Path) -> None:
        super().__init__(directory / "proxy.log")
        self._port_file = directory / "proxy.port"

    def start(self) -> None:
        self._process = subprocess.Popen(
            [
                sys.executable, "-m", "proxy", "--hostname", "127.0.0.1", "--port", "0",
                "--port-file", str(self._port_file), "--basic-auth", f"{USER}:{PASSWORD}",
                "--num-workers", "1", "--num-acceptors", "1",
                "--log-file", str(self.log), "--log-level", "INFO",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        text = wait_for(lambda: self._port_file.exists() and self._port_file.read_text().strip())
        if not text:
            self.stop()
            raise RuntimeError("proxy.py did not start within 20 s")
        self.port = int(text)


class SocksProxy(_ProxyProcess):
    """A SOCKS5 proxy (pproxy) asking for `USER` and `PASSWORD`; its log names each connection
    as `-> host:port`."""

    scheme = "socks5"

    def __init__(self, directory: Path) -> None:
        super().__init__(directory / "socks.log")
        self.port = free_port()

    def start(self) -> None:
        with self.log.open("wb") as log:
            self._process = subprocess.Popen(
                [
                    sys.executable, "-m", "pproxy", "-v",
                    "-l", f"socks5://127.0.0.1:{self.port}#{USER}:{PASSWORD}",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )  # fmt: skip
        if not wait_for(lambda: self.saw("Serving on")):
            self.stop()
            raise RuntimeError("pproxy did not start within 20 s")
