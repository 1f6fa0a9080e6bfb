"""The poll-cycle benchmark measures what it says: run small, every cycle must do its work.

Only what the cycles did is checked (feeds parsed, entries new, 304s), never a time: the
figures belong to the benchmark's own runs (README, Benchmarks).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCHMARK = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_poll.py"


def test_every_cycle_of_the_benchmark_does_the_work_it_is_named_for() -> None:
    run = subprocess.run(
        [sys.executable, str(BENCHMARK), "--feeds", "3", "--hosts", "2", "--repeat", "1"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    lines = {line.split()[0] + " " + line.split()[1]: line for line in run.stdout.splitlines()
             if line.startswith("  ")}  # fmt: skip
    assert "3 parsed, 90 entries, 0 new" in lines["first poll"]
    assert "3 parsed, 90 entries, 90 new" in lines["full cycle"]
    assert " 0 alerts" not in lines["full cycle"]  # the shipped rules matched some entries
    assert "3 304/unchanged" in lines["304 cycle"]
    assert "3 304/unchanged" in lines["unchanged cycle"]
    assert "3 parsed, 90 entries, 3 new" in lines["one-new cycle"]
    assert "error" not in run.stdout
    for row in ("full cycle, all entries new", "304 cycle", "parse + match only, in the workers",
                "full cycle CPU ÷ feedparser parse", "peak RSS, process + workers"):  # fmt: skip
        assert any(line.startswith(row) for line in run.stdout.splitlines()), row
