"""The daemon's stack under watcher.service's seccomp policy: system call filter,
MemoryDenyWriteExecute= and RestrictAddressFamilies= (research/reliability.md §5.4).

systemd builds these filters from the unit; seccomp_sandbox.py builds the same ones from the
same lines, so a dependency that needs a denied system call or writable+executable memory
fails here rather than on the first real host. Skipped without systemd-analyze or
libseccomp's Python binding (Debian: systemd, python3-seccomp).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
UNIT = HERE.parents[1] / "systemd" / "watcher.service"
SANDBOX = HERE / "seccomp_sandbox.py"
WORKLOAD = HERE / "sandbox_workload.py"
UNAVAILABLE = 77

pytestmark = pytest.mark.skipif(
    shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed"
)

PROBES = """
import json, mmap, os, socket
found = {}
try:
    mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
    found["write_execute"] = "allowed"
except OSError as error:
    found["write_execute"] = error.errno
try:
    socket.socket(socket.AF_NETLINK, socket.SOCK_RAW).close()
    found["netlink"] = "allowed"
except OSError as error:
    found["netlink"] = error.errno
try:
    os.nice(1)
    found["nice"] = "allowed"
except OSError as error:
    found["nice"] = error.errno
import resource
soft, hard = resource.getrlimit(resource.RLIMIT_AS)
resource.setrlimit(resource.RLIMIT_AS, (1 << 34, hard))
found["address_space_limit"] = "set"
print(json.dumps(found))
"""


def sandboxed(*command: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, str(SANDBOX), str(UNIT), "--", *command],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    if result.returncode == UNAVAILABLE:
        pytest.skip(result.stderr.strip())
    return result


def test_the_sandbox_denies_what_the_unit_denies() -> None:
    # Without this, a sandbox that silently failed to load would make the next test vacuous.
    result = sandboxed(sys.executable, "-c", PROBES)
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    assert found["write_execute"] == 1  # EPERM: MemoryDenyWriteExecute=yes
    assert found["netlink"] == 97  # EAFNOSUPPORT: RestrictAddressFamilies=
    assert found["nice"] == 1  # EPERM: ~@resources
    # Parser workers cap their memory: glibc's prlimit64 is still allowed.
    assert found["address_space_limit"] == "set"


def test_the_daemon_stack_runs_in_the_sandbox() -> None:
    result = sandboxed(sys.executable, str(WORKLOAD))
    assert result.returncode == 0, result.stdout + result.stderr
    steps = [line.removeprefix("ok ") for line in result.stdout.splitlines()]
    expected = [
        "import",
        "signal handlers",
        "scheduler",
        "fetch",
        "parse in worker processes",
        "apprise delivery",
        "extract and match",
        "sqlite store",
        "sd_notify",
    ]
    assert steps[: len(expected)] == expected
    if os.environ.get("WATCHER_TEST_POSTGRES_URL"):
        assert steps[len(expected) :] == ["postgresql connection"]
