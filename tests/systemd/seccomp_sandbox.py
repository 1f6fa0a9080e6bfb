"""Run a command under the seccomp part of a unit's sandbox, without systemd.

usage: python seccomp_sandbox.py UNIT_FILE -- COMMAND [ARG...]

Reads SystemCallFilter=, SystemCallErrorNumber=, MemoryDenyWriteExecute= and
RestrictAddressFamilies= from the unit's [Service] section, builds the seccomp filters systemd
would build from them (syscall groups expanded by `systemd-analyze syscall-filter`), loads them
and execs COMMAND. The mount, user and capability parts of the sandbox are not reproduced.

Needs libseccomp's Python binding (Debian: python3-seccomp); exits 77 when it is missing.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import socket
import subprocess
import sys
from pathlib import Path

UNAVAILABLE = 77
PROT_WRITE = 0x2
PROT_EXEC = 0x4
SHM_EXEC = 0o100000

try:
    import seccomp  # type: ignore[import-not-found]
except ImportError:
    # The Debian package installs for the system Python; the extension fits any CPython of
    # the same version.
    sys.path.append("/usr/lib/python3/dist-packages")
    try:
        import seccomp  # type: ignore[import-not-found]
    except ImportError:
        seccomp = None


def service_settings(unit: Path) -> dict[str, list[str]]:
    settings: dict[str, list[str]] = {}
    section = ""
    for raw in unit.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line
            continue
        if section == "[Service]" and "=" in line:
            key, value = line.split("=", 1)
            settings.setdefault(key, []).append(value)
    return settings


@functools.cache
def expand(name: str) -> frozenset[str]:
    """A syscall name, or a @group with its nested groups, as syscall names."""
    if not name.startswith("@"):
        return frozenset({name})
    listing = subprocess.run(
        ["systemd-analyze", "syscall-filter", name], capture_output=True, text=True, check=True
    ).stdout
    names: set[str] = set()
    for line in listing.splitlines()[1:]:
        entry = line.strip()
        if entry and not entry.startswith("#"):
            names |= expand(entry)
    return frozenset(names)


def syscall_filter(values: list[str], error: int) -> seccomp.SyscallFilter:
    """SystemCallFilter= lines: the first without `~` starts an allow list, `~` lines take
    names out of it (or, with no allow list, deny them)."""
    allowed: set[str] | None = None
    denied: set[str] = set()
    for value in values:
        negate = value.startswith("~")
        names = set().union(*(expand(word) for word in value.lstrip("~").split()))
        if allowed is None and not negate:
            allowed = names
        elif allowed is None:
            denied |= names
        elif negate:
            allowed -= names
        else:
            allowed |= names
    if allowed is None:
        rules = seccomp.SyscallFilter(defaction=seccomp.ALLOW)
        add_known(rules, seccomp.ERRNO(error), denied)
    else:
        rules = seccomp.SyscallFilter(defaction=seccomp.ERRNO(error))
        add_known(rules, seccomp.ALLOW, allowed)
    return rules


def add_known(rules: seccomp.SyscallFilter, action: int, names: set[str]) -> None:
    for name in sorted(names):
        # Names of other architectures' syscalls are skipped, as systemd does.
        with contextlib.suppress(RuntimeError, ValueError):
            rules.add_rule(action, name)


def write_execute_filter() -> seccomp.SyscallFilter:
    """MemoryDenyWriteExecute=yes, as systemd implements it."""
    rules = seccomp.SyscallFilter(defaction=seccomp.ALLOW)
    deny = seccomp.ERRNO(errno.EPERM)
    both = PROT_WRITE | PROT_EXEC
    rules.add_rule(deny, "mmap", seccomp.Arg(2, seccomp.MASKED_EQ, both, both))
    rules.add_rule(deny, "mprotect", seccomp.Arg(2, seccomp.MASKED_EQ, PROT_EXEC, PROT_EXEC))
    rules.add_rule(deny, "pkey_mprotect", seccomp.Arg(2, seccomp.MASKED_EQ, PROT_EXEC, PROT_EXEC))
    rules.add_rule(deny, "shmat", seccomp.Arg(2, seccomp.MASKED_EQ, SHM_EXEC, SHM_EXEC))
    return rules


def address_family_filter(names: list[str]) -> seccomp.SyscallFilter:
    allowed = {int(getattr(socket, name)) for value in names for name in value.split()}
    rules = seccomp.SyscallFilter(defaction=seccomp.ALLOW)
    deny = seccomp.ERRNO(errno.EAFNOSUPPORT)
    for family in range(max(allowed)):
        if family not in allowed:
            rules.add_rule(deny, "socket", seccomp.Arg(0, seccomp.EQ, family))
    rules.add_rule(deny, "socket", seccomp.Arg(0, seccomp.GT, max(allowed)))
    return rules


def main(argv: list[str]) -> int:
    if len(argv) < 4 or argv[2] != "--":
        print(__doc__, file=sys.stderr)
        return 2
    if seccomp is None:
        print("libseccomp's Python binding is not installed", file=sys.stderr)
        return UNAVAILABLE
    settings = service_settings(Path(argv[1]))
    error = getattr(errno, settings.get("SystemCallErrorNumber", ["EPERM"])[-1])
    # The allow list goes last: it does not allow seccomp(2), so nothing loads after it.
    filters = []
    if settings.get("MemoryDenyWriteExecute", ["no"])[-1] == "yes":
        filters.append(write_execute_filter())
    if "RestrictAddressFamilies" in settings:
        filters.append(address_family_filter(settings["RestrictAddressFamilies"]))
    if "SystemCallFilter" in settings:
        filters.append(syscall_filter(settings["SystemCallFilter"], error))
    for rules in filters:
        rules.load()
    os.execv(argv[3], argv[3:])
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
