"""Real proxies on 127.0.0.1, each in a process of its own, asking for credentials and logging
what they forward to a file the test can read: an HTTP forward proxy (proxy.py) and a SOCKS5
proxy (pproxy)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.support.sockets import free_port
from tests.support.waiting import wait_for

USER = "reader"
PASSWORD = "pr0xy-pa55"


class ForwardProxy:
    """`url()` is the proxy's URL with (by default) the right credentials."""

    def __init__(self, directory: Path) -> None:
        self._port_file = directory / "proxy.port"
        self.log = directory / "proxy.log"
        self._process: subprocess.Popen[bytes] | None = None
        self.port = 0

    def start(self) -> ForwardProxy:
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
        return self

    def url(self, user: str = USER, password: str = PASSWORD) -> str:
        return f"http://{user}:{password}@127.0.0.1:{self.port}"

    def saw(self, target: str) -> bool:
        """Whether the access log holds a request for `target` (host:port/path, or host:port
        for a CONNECT tunnel)."""
        return self.log.exists() and target in self.log.read_text(encoding="utf-8")

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(10)
            self._process = None

    def __enter__(self) -> ForwardProxy:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


class SocksProxy:
    """A SOCKS5 proxy (pproxy) asking for `USER` and `PASSWORD`; `url()` carries them."""

    def __init__(self, directory: Path) -> None:
        self.log = directory / "socks.log"
        self.port = free_port()
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> SocksProxy:
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
        return self

    def url(self, user: str = USER, password: str = PASSWORD) -> str:
        return f"socks5://{user}:{password}@127.0.0.1:{self.port}"

    def saw(self, text: str) -> bool:
        """Whether its log holds `text` (a connection reads `-> host:port`)."""
        return self.log.exists() and text in self.log.read_text(encoding="utf-8")

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(10)
            self._process = None

    def __enter__(self) -> SocksProxy:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
