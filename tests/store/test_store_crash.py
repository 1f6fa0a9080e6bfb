"""A poller killed with SIGKILL in the middle of a poll leaves all of that poll or none of it."""

from __future__ import annotations

import collections
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa

from tests.store.builders import T0, entry, primed_feed
from tests.store.crash_worker import ENTRIES_PER_POLL
from watcher.store import Store
from watcher.store.schema import alert, article, seen_entry

ROOT = Path(__file__).resolve().parents[2]


def start_worker(url: str, mode: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "tests.store.crash_worker", url, mode],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def keys_by_table(store: Store) -> dict[str, list[str]]:
    with store.engine.connect() as connection:
        return {
            "seen": list(connection.execute(sa.select(seen_entry.c.entry_key)).scalars()),
            "article": list(connection.execute(sa.select(article.c.entry_key)).scalars()),
            "alert": list(
                connection.execute(
                    sa.select(article.c.entry_key).join(alert, alert.c.article_id == article.c.id)
                ).scalars()
            ),
        }


def test_killed_inside_the_transaction_leaves_nothing_and_the_retry_alerts_once(
    store_url: str, open_store: Callable[[], Store]
) -> None:
    setup = open_store()
    feed_id = primed_feed(setup)
    setup.close()

    worker = start_worker(store_url, "mid-ingest")
    _, stderr = worker.communicate(timeout=60)
    assert worker.returncode == -signal.SIGKILL, stderr

    store = open_store()
    assert keys_by_table(store) == {"seen": [], "article": [], "alert": []}
    poll = [entry(f"guid:{i}", notifiers=("desk",)) for i in range(10)]
    result = store.ingest(feed_id, poll, T0)
    assert len(result.new) == 10 and len(result.alerts) == 10
    assert store.ingest(feed_id, poll, T0).alerts == []
    assert store.outbox_counts().pending == 10


def test_killed_between_or_during_polls_every_poll_is_whole_or_absent(
    store_url: str, open_store: Callable[[], Store]
) -> None:
    setup = open_store()
    primed_feed(setup)
    setup.close()

    worker = start_worker(store_url, "loop")
    assert worker.stdout is not None
    committed = [worker.stdout.readline() for _ in range(3)]
    assert committed == [f"committed {i}\n" for i in range(3)], worker.stderr
    # The worker goes straight on to the next poll: the kill lands inside its ingest or between
    # two polls, and either way no poll may be found half-written.
    os.kill(worker.pid, signal.SIGKILL)
    worker.communicate(timeout=60)
    assert worker.returncode == -signal.SIGKILL

    tables = keys_by_table(open_store())
    per_poll = {
        name: collections.Counter(key.split(":")[0] for key in keys)
        for name, keys in tables.items()
    }
    assert per_poll["seen"] == per_poll["article"] == per_poll["alert"]
    assert set(per_poll["seen"].values()) == {ENTRIES_PER_POLL}
    assert {"poll0", "poll1", "poll2"} <= set(per_poll["seen"])
