"""A poller that dies by SIGKILL, for test_store_crash.py.

`python -m tests.store.crash_worker URL mid-ingest`: ingests one poll of ten new entries and
kills itself when it starts queuing their alerts, inside the transaction, after the seen
marks, stories and articles of the poll have been written.
`python -m tests.store.crash_worker URL loop`: ingests poll after poll, printing
`committed N` after each, until the test kills it.
"""

from __future__ import annotations

import itertools
import os
import signal
import sys
from typing import Any

import sqlalchemy as sa

from tests.store.builders import T0, entry
from watcher.store import Store

ENTRIES_PER_POLL = 50


def kill_when_queuing_alerts(store: Store) -> None:
    def before_execute(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.startswith("INSERT INTO alert"):
            os.kill(os.getpid(), signal.SIGKILL)

    sa.event.listen(store.engine, "before_cursor_execute", before_execute)


def main(url: str, mode: str) -> None:
    store = Store.open(url)
    row = store.feed("wire")
    assert row is not None, "the test sets up feed 'wire' first"
    if mode == "mid-ingest":
        kill_when_queuing_alerts(store)
        store.ingest(row.id, [entry(f"guid:{i}", notifiers=("desk",)) for i in range(10)], T0)
        raise SystemExit("the worker should have been killed inside the transaction")
    for poll in itertools.count():
        keys = [f"poll{poll}:{i}" for i in range(ENTRIES_PER_POLL)]
        store.ingest(row.id, [entry(key, notifiers=("desk",)) for key in keys], T0)
        print(f"committed {poll}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
