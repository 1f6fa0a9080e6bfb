"""A real SMTP server on loopback (aiosmtpd) that keeps every message it accepted.

It can be started and stopped on a fixed port, so a test can take the server down while the
daemon runs and bring it back later, and it can delay its answer to DATA (a slow server).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller

from tests.support.sockets import free_port

# aiosmtpd logs every connection at INFO from its own thread, also after a test has ended and
# pytest has closed the stream it captured logs in ("--- Logging error ---" in the output).
logging.getLogger("mail.log").setLevel(logging.WARNING)


class Mailbox:
    """An SMTP server at 127.0.0.1:`port`; `received` holds the accepted messages in order."""

    def __init__(self, port: int | None = None, *, data_delay: float = 0.0) -> None:
        self.port = port or free_port()
        self.data_delay = data_delay
        self._received: list[EmailMessage] = []
        self._receiving = 0
        self._lock = threading.Lock()
        self._controller: Controller | None = None

    @property
    def received(self) -> list[EmailMessage]:
        with self._lock:
            return list(self._received)

    @property
    def receiving(self) -> int:
        """How many messages have reached DATA (accepted or still being answered)."""
        with self._lock:
            return self._receiving

    def subjects(self) -> list[str]:
        return [str(message["Subject"]) for message in self.received]

    async def handle_DATA(self, server, session, envelope) -> str:
        with self._lock:
            self._receiving += 1
        if self.data_delay:
            await asyncio.sleep(self.data_delay)
        message = message_from_bytes(envelope.content, policy=policy.default)
        with self._lock:
            self._received.append(message)
        return "250 OK"

    def url(self, **params: str) -> str:
        """The apprise URL (plain SMTP: `mode=insecure`, or apprise tries STARTTLS)."""
        query = {"from": "alerts@watcher.test", "to": "desk@example.test", "mode": "insecure"}
        query.update(params)
        return f"mailto://127.0.0.1:{self.port}?" + "&".join(f"{k}={v}" for k, v in query.items())

    def start(self) -> Mailbox:
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> Mailbox:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def email_parts(message: EmailMessage) -> dict[str, str]:
    """The text of each leaf part by content type (`text/html`, `text/plain`)."""
    return {
        part.get_content_type(): part.get_content()
        for part in message.walk()
        if not part.is_multipart()
    }
