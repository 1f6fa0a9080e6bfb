"""Memory of a process tree, read from /proc: the daemon and its parser workers together."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Collection
from pathlib import Path

_PAGE = os.sysconf("SC_PAGE_SIZE")


def descendants(pid: int) -> list[int]:
    """Every process below `pid` (the forkserver and the workers it forked included)."""
    found: list[int] = []
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            tasks = list(Path(f"/proc/{current}/task").iterdir())
        except OSError:
            continue
        for task in tasks:
            try:
                children = (task / "children").read_text().split()
            except OSError:
                continue
            for child in map(int, children):
                found.append(child)
                pending.append(child)
    return found


def rss_bytes(pid: int) -> int:
    """Resident set size of one process; 0 when it is gone."""
    try:
        with open(f"/proc/{pid}/statm") as handle:
            return int(handle.read().split()[1]) * _PAGE
    except (OSError, IndexError, ValueError):
        return 0


def tree_rss(pid: int, exclude: Collection[int] = ()) -> dict[int, int]:
    """RSS of `pid` and each of its descendants (minus `exclude` and theirs), by pid.

    The sum over-counts pages a forked worker still shares with its parent: it is an upper
    bound of what the tree really holds.
    """
    excluded = set(exclude)
    for pid_ in list(excluded):
        excluded.update(descendants(pid_))
    pids = [pid, *(child for child in descendants(pid) if child not in excluded)]
    return {member: rss_bytes(member) for member in pids}


class PeakSampler:
    """Samples the tree's total RSS every `interval` seconds in a thread; keeps the peak."""

    def __init__(self, pid: int, exclude: Collection[int] = (), interval: float = 0.05) -> None:
        self._pid = pid
        self._exclude = exclude
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)
        self.peak = 0
        #: RSS of each process of the tree at the peak, by pid.
        self.at_peak: dict[int, int] = {}

    def _run(self) -> None:
        while not self._stop.is_set():
            sizes = tree_rss(self._pid, self._exclude)
            total = sum(sizes.values())
            if total > self.peak:
                self.peak, self.at_peak = total, sizes
            self._stop.wait(self._interval)

    def breakdown(self) -> str:
        """`main 150 MB + 3 below (40, 62, 63 MB)` for the peak."""
        below = sorted(size for pid, size in self.at_peak.items() if pid != self._pid)
        main = self.at_peak.get(self._pid, 0)
        text = f"main {main / 2**20:.0f} MB"
        if below:
            sizes = ", ".join(f"{size / 2**20:.0f}" for size in below)
            text += f" + {len(below)} below ({sizes} MB)"
        return text

    def __enter__(self) -> PeakSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()


_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int, *, reaped: bool = True) -> float:
    """CPU time (user + system) of a process, with that of the children it has reaped."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(value) for value in fields[11 : 15 if reaped else 13]) / _TICKS


def machine_busy_seconds() -> float:
    """CPU time all processors have spent busy since boot, summed over processors."""
    with open("/proc/stat") as handle:
        values = [int(v) for v in handle.readline().split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = values[:8]
    return (user + nice + system + irq + softirq + steal) / _TICKS


class CpuUse:
    """Processors kept busy while the block ran, per wall second: by `pid` itself, by the
    processes below it (parser workers; minus `exclude`, e.g. a server), and by every other
    program on the machine (0.0 on an otherwise idle machine)."""

    def __init__(self, pid: int, exclude: Collection[int] = ()) -> None:
        self._pid = pid
        self._exclude = set(exclude)
        self.main = self.children = self.foreign = 0.0

    def _sample(self) -> tuple[float, float, float, float, float]:
        below = descendants(self._pid)
        others = [p for p in below if p not in self._exclude]
        excluded = [p for p in below if p in self._exclude]
        main = cpu_seconds(self._pid, reaped=False)
        # Workers that exited (recycled) were reaped by `pid`: their time is in its total.
        reaped = cpu_seconds(self._pid) - main
        return (
            time.perf_counter(),
            machine_busy_seconds(),
            main,
            reaped + sum(cpu_seconds(p) for p in others),
            sum(cpu_seconds(p) for p in excluded),
        )

    def __enter__(self) -> CpuUse:
        self._start = self._sample()
        return self

    def __exit__(self, *exc_info: object) -> None:
        end = self._sample()
        wall, busy, main, children, excluded = (
            b - a for a, b in zip(self._start, end, strict=True)
        )
        if wall <= 0:
            return
        self.main = max(main, 0.0) / wall
        self.children = max(children, 0.0) / wall
        self.foreign = max(busy - main - children - excluded, 0.0) / wall
