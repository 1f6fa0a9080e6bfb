"""The daemon's scheduler after its event loop was held up: late jobs run once, none is lost."""

from __future__ import annotations

import asyncio
import datetime as dt
import time

from apscheduler.triggers.interval import IntervalTrigger

from watcher.daemon import new_scheduler


async def test_a_job_held_up_past_its_time_runs_once_as_soon_as_it_can() -> None:
    runs: list[float] = []

    async def job() -> None:
        runs.append(time.monotonic())

    scheduler = new_scheduler()
    first = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=0.05)
    scheduler.add_job(job, IntervalTrigger(seconds=2), next_run_time=first)
    scheduler.start()
    try:
        # The loop held up through three due times (a slow call, a suspended machine), the
        # last more than a second ago: APScheduler's defaults would skip the job as missed.
        time.sleep(5.3)
        resumed = time.monotonic()
        await asyncio.sleep(0.4)  # the next due time is 0.75 s after the pause
    finally:
        scheduler.shutdown(wait=False)

    assert len(runs) == 1, "a late job must run once: not skipped, not once per missed time"
    assert runs[0] - resumed < 0.2
