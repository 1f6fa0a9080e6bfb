"""sd_notify: the datagrams systemd receives, and silence outside systemd."""

from __future__ import annotations

import logging
import os
import socket
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from watcher.sdnotify import Notifier


class Listener:
    """A datagram socket standing in for systemd's notify socket."""

    def __init__(self, address: str) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(address)
        # A guard against a hung test, not a timing assertion: every message is sent
        # before it is read.
        self.sock.settimeout(10)

    def fields(self) -> list[str]:
        return self.sock.recv(4096).decode("utf-8").split("\n")

    def pending(self) -> bool:
        self.sock.setblocking(False)
        try:
            self.sock.recv(4096)
        except BlockingIOError:
            return False
        finally:
            self.sock.settimeout(10)
        return True


@pytest.fixture
def socket_dir() -> Iterator[Path]:
    # A short directory of its own: AF_UNIX paths are limited to 107 bytes, which pytest's
    # tmp_path can exceed.
    with tempfile.TemporaryDirectory(prefix="sdn-") as directory:
        yield Path(directory)


@pytest.fixture
def listener(socket_dir: Path) -> Iterator[Listener]:
    path = socket_dir / "notify"
    listening = Listener(str(path))
    yield listening
    listening.sock.close()


def notifier_for(address: str, **extra: str) -> Notifier:
    return Notifier({"NOTIFY_SOCKET": address, **extra})


@pytest.fixture
def notifier(listener: Listener) -> Notifier:
    return notifier_for(listener.sock.getsockname())


def test_ready(notifier: Notifier, listener: Listener) -> None:
    assert notifier.ready() is True
    assert listener.fields() == ["READY=1"]


def test_ready_with_status(notifier: Notifier, listener: Listener) -> None:
    notifier.ready("polling 12 feeds")
    assert listener.fields() == ["READY=1", "STATUS=polling 12 feeds"]


def test_status(notifier: Notifier, listener: Listener) -> None:
    notifier.status("12 feeds ok, 1 failing; outbox 3 pending")
    assert listener.fields() == ["STATUS=12 feeds ok, 1 failing; outbox 3 pending"]


def test_status_text_cannot_inject_fields(notifier: Notifier, listener: Listener) -> None:
    notifier.status("feed down\nREADY=1")
    assert listener.fields() == ["STATUS=feed down READY=1"]


def test_reloading_carries_the_monotonic_time(notifier: Notifier, listener: Listener) -> None:
    before = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    notifier.reloading()
    after = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    fields = listener.fields()
    assert fields[0] == "RELOADING=1"
    name, _, value = fields[1].partition("=")
    assert name == "MONOTONIC_USEC"
    assert before <= int(value) <= after
    assert len(fields) == 2


def test_reload_sequence_ends_ready(notifier: Notifier, listener: Listener) -> None:
    notifier.reloading("reloading configuration")
    notifier.ready("configuration reloaded")
    first = listener.fields()
    assert first[0] == "RELOADING=1"
    assert first[2] == "STATUS=reloading configuration"
    assert listener.fields() == ["READY=1", "STATUS=configuration reloaded"]


def test_stopping(notifier: Notifier, listener: Listener) -> None:
    notifier.stopping()
    assert listener.fields() == ["STOPPING=1"]


def test_stopping_with_status(notifier: Notifier, listener: Listener) -> None:
    notifier.stopping("draining 4 polls")
    assert listener.fields() == ["STOPPING=1", "STATUS=draining 4 polls"]


def test_watchdog(notifier: Notifier, listener: Listener) -> None:
    notifier.watchdog()
    assert listener.fields() == ["WATCHDOG=1"]


def test_extend_timeout(notifier: Notifier, listener: Listener) -> None:
    notifier.extend_timeout(12.5)
    assert listener.fields() == ["EXTEND_TIMEOUT_USEC=12500000"]


def test_abstract_socket() -> None:
    name = f"watcher-test-{uuid.uuid4().hex}"
    listening = Listener("\0" + name)
    try:
        notifier = notifier_for("@" + name)
        assert notifier.enabled
        assert notifier.ready() is True
        assert listening.fields() == ["READY=1"]
    finally:
        listening.sock.close()


def test_reads_the_process_environment(listener: Listener, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOTIFY_SOCKET", listener.sock.getsockname())
    Notifier().watchdog()
    assert listener.fields() == ["WATCHDOG=1"]


def test_without_notify_socket_every_call_is_a_no_op(listener: Listener) -> None:
    notifier = Notifier({})
    assert not notifier.enabled
    assert notifier.ready("ready") is False
    assert notifier.status("status") is False
    assert notifier.reloading() is False
    assert notifier.stopping() is False
    assert notifier.watchdog() is False
    assert notifier.extend_timeout(5) is False
    assert notifier.watchdog_interval() is None
    assert not listener.pending()


def test_empty_notify_socket_is_off() -> None:
    assert not notifier_for("").enabled


def test_relative_notify_socket_is_refused_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="watcher.sdnotify"):
        notifier = notifier_for("run/notify")
    assert not notifier.enabled
    assert notifier.ready() is False
    assert "NOTIFY_SOCKET='run/notify'" in caplog.text


def test_send_failure_returns_false_and_is_logged_once(
    socket_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    missing = str(socket_dir / "gone")
    notifier = notifier_for(missing)
    with caplog.at_level(logging.WARNING, logger="watcher.sdnotify"):
        assert notifier.ready() is False
        assert notifier.watchdog() is False
        assert notifier.stopping() is False
    warnings = [r for r in caplog.records if r.name == "watcher.sdnotify"]
    assert len(warnings) == 1
    assert missing in warnings[0].getMessage()


def test_a_full_socket_never_blocks_the_caller(notifier: Notifier, listener: Listener) -> None:
    # Nobody reads the socket, as when systemd is stuck: the kernel queue fills up and
    # further sends must fail at once instead of waiting.
    results: list[bool] = []

    def flood() -> None:
        results.extend(notifier.watchdog() for _ in range(2_000))

    sender = threading.Thread(target=flood, daemon=True)
    sender.start()
    sender.join(timeout=60)
    assert not sender.is_alive(), "a send blocked on the full socket"
    assert results[0] is True
    assert False in results


def test_watchdog_interval_is_half_the_timeout() -> None:
    notifier = Notifier({"WATCHDOG_USEC": "60000000"})
    assert notifier.watchdog_interval() == 30.0


def test_watchdog_interval_for_this_process() -> None:
    notifier = Notifier({"WATCHDOG_USEC": "10000000", "WATCHDOG_PID": str(os.getpid())})
    assert notifier.watchdog_interval() == 5.0


def test_watchdog_meant_for_another_process_is_ignored() -> None:
    notifier = Notifier({"WATCHDOG_USEC": "10000000", "WATCHDOG_PID": str(os.getpid() + 1)})
    assert notifier.watchdog_interval() is None


@pytest.mark.parametrize("value", ["0", "-5", "soon"])
def test_invalid_watchdog_usec_means_no_pings(value: str, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="watcher.sdnotify"):
        notifier = Notifier({"WATCHDOG_USEC": value})
    assert notifier.watchdog_interval() is None
    assert f"WATCHDOG_USEC={value!r}" in caplog.text
