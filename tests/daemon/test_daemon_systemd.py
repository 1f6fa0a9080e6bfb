"""sd_notify from the running daemon: a datagram socket stands in for systemd's NOTIFY_SOCKET."""

from __future__ import annotations

import signal

from tests.daemon.stories import BAKERY
from tests.support.daemon import Setup, Watcher, environment
from tests.support.feeds import FeedSite
from tests.support.notify import NotifySocket


def test_the_daemon_tells_systemd_ready_watchdog_reloading_and_stopping(
    setup: Setup, site: FeedSite, notify_socket: NotifySocket
):
    setup.feed("wire", site.feed("/wire", "Example Wire", [BAKERY]))
    env = environment(NOTIFY_SOCKET=str(notify_socket.path), WATCHDOG_USEC="1000000")

    with Watcher(setup.write(), env=env) as daemon:
        daemon.expect(lambda: "READY=1" in notify_socket.firsts(), "READY=1")
        daemon.expect(lambda: notify_socket.firsts().count("WATCHDOG=1") >= 2, "two watchdog pings")
        daemon.send(signal.SIGHUP)
        daemon.expect(
            lambda: notify_socket.firsts().count("READY=1") >= 2, "READY=1 after the reload"
        )
        daemon.send(signal.SIGTERM)
        assert daemon.wait() == 0

    firsts = notify_socket.firsts()
    assert firsts[0] == "READY=1"
    reloading = firsts.index("RELOADING=1")
    assert "READY=1" in firsts[reloading + 1 :]
    reload_fields = notify_socket.messages[reloading]
    assert any(field.startswith("MONOTONIC_USEC=") for field in reload_fields)
    assert "STOPPING=1" in firsts[reloading:]
    # Nothing claims the service is ready or alive once it said it is stopping.
    assert not {"READY=1", "WATCHDOG=1"} & set(firsts[firsts.index("STOPPING=1") :])
    statuses = [f for message in notify_socket.messages for f in message if f.startswith("STATUS=")]
    assert any("1 feeds" in status for status in statuses)


def test_the_status_line_counts_silent_feeds(
    setup: Setup, site: FeedSite, notify_socket: NotifySocket
):
    setup.feed("wire", site.feed("/wire", "Example Wire", [BAKERY]), silent_after="2s")
    setup.poll["silence_check"] = "1s"
    env = environment(NOTIFY_SOCKET=str(notify_socket.path), WATCHDOG_USEC="1000000")

    def statuses() -> list[str]:
        return [f for message in notify_socket.messages for f in message if f.startswith("STATUS=")]

    with Watcher(setup.write(), env=env) as daemon:
        daemon.expect(
            lambda: any(status.endswith(", 1 silent feed") for status in statuses()),
            "the silent feed on the status line",
        )
        assert daemon.stop() == 0
