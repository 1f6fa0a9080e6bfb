"""Tell systemd how the service is doing: the sd_notify(3) datagram protocol, without libsystemd.

systemd names a datagram socket in `$NOTIFY_SOCKET` (a path, or `@name` for the abstract
namespace) and reads newline-separated `KEY=value` lines from it. The protocol is stable and
small enough that reimplementing it beats a dependency (research/reliability.md §5.2). Outside
systemd the variable is absent and every call does nothing, so the daemon never has to ask.

Sending never raises into the daemon: a lost readiness or watchdog message is systemd's
business to time out on, while an exception here would stop the work systemd is waiting for.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Mapping

logger = logging.getLogger(__name__)


class Notifier:
    """Sends service state to systemd; a no-op when the process was not started by systemd."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        """Read `NOTIFY_SOCKET`, `WATCHDOG_USEC` and `WATCHDOG_PID` (default: `os.environ`)."""
        env = os.environ if environ is None else environ
        self._address = _socket_address(env.get("NOTIFY_SOCKET", ""))
        self._watchdog_usec = _watchdog_usec(env)
        self._failure_logged = False

    @property
    def enabled(self) -> bool:
        """Whether messages go anywhere (systemd gave us a socket)."""
        return self._address is not None

    def ready(self, status: str | None = None) -> bool:
        """Startup or a reload is complete: `READY=1`, with an optional status line."""
        return self._send("READY=1", *_status_field(status))

    def status(self, text: str) -> bool:
        """The one-line status `systemctl status` shows."""
        return self._send(*_status_field(text))

    def reloading(self, status: str | None = None) -> bool:
        """A reload has begun: `RELOADING=1` plus the `MONOTONIC_USEC=` that `Type=notify-reload`
        (systemd ≥ 253) needs to match it to `systemctl reload`; older systemd ignores it.
        Call `ready()` when the reload is done, whether or not the new configuration was taken."""
        monotonic_usec = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
        return self._send("RELOADING=1", f"MONOTONIC_USEC={monotonic_usec}", *_status_field(status))

    def stopping(self, status: str | None = None) -> bool:
        """Shutdown has begun: `STOPPING=1`."""
        return self._send("STOPPING=1", *_status_field(status))

    def extend_timeout(self, seconds: float) -> bool:
        """Ask for `seconds` more before systemd gives up on the current start, reload or stop
        (`EXTEND_TIMEOUT_USEC=`), e.g. while a long drain is still finishing its work."""
        return self._send(f"EXTEND_TIMEOUT_USEC={max(0, round(seconds * 1_000_000))}")

    def watchdog(self) -> bool:
        """`WATCHDOG=1`: the service is healthy. Send only after checking that it is."""
        return self._send("WATCHDOG=1")

    def watchdog_interval(self) -> float | None:
        """Seconds between watchdog pings (half of `WatchdogSec=`), or None when systemd does not
        watch this process: no `WATCHDOG_USEC`, or `WATCHDOG_PID` names another process."""
        if self._watchdog_usec is None:
            return None
        return self._watchdog_usec / 2 / 1_000_000

    def _send(self, *fields: str) -> bool:
        """Send one datagram; True when it left, False when disabled or the send failed."""
        if self._address is None:
            return False
        message = "\n".join(fields).encode("utf-8")
        try:
            # Non-blocking: with systemd's queue full, a wait here would stall the event loop
            # that the watchdog is meant to vouch for.
            with socket.socket(
                socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC | socket.SOCK_NONBLOCK
            ) as sock:
                sock.sendto(message, self._address)
        except OSError as error:
            if not self._failure_logged:
                self._failure_logged = True
                logger.warning(
                    "cannot notify systemd at NOTIFY_SOCKET=%s: %s (further failures not logged)",
                    _shown(self._address),
                    error,
                )
            return False
        return True


def _socket_address(value: str) -> str | None:
    if not value:
        return None
    if value.startswith("@"):
        # Abstract namespace: the kernel name starts with a NUL byte instead of the '@'.
        return "\0" + value[1:]
    if value.startswith("/"):
        return value
    logger.warning(
        "NOTIFY_SOCKET=%r is neither an absolute path nor an @abstract name; "
        "systemd notifications are off",
        value,
    )
    return None


def _watchdog_usec(env: Mapping[str, str]) -> int | None:
    raw_usec = env.get("WATCHDOG_USEC", "")
    if not raw_usec:
        return None
    # systemd sets WATCHDOG_PID so that a child that inherited the environment does not ping
    # in its parent's name.
    raw_pid = env.get("WATCHDOG_PID", "")
    if raw_pid and raw_pid != str(os.getpid()):
        return None
    try:
        usec = int(raw_usec)
    except ValueError:
        usec = 0
    if usec <= 0:
        logger.warning(
            "WATCHDOG_USEC=%r is not a positive number of microseconds; no watchdog pings",
            raw_usec,
        )
        return None
    return usec


def _status_field(text: str | None) -> tuple[str, ...]:
    if text is None:
        return ()
    # One field per line in the protocol: a newline in the text would start a new field.
    return ("STATUS=" + " ".join(text.splitlines()),)


def _shown(address: str) -> str:
    return "@" + address[1:] if address.startswith("\0") else address
