"""systemd/watcher.service: valid for systemd, hardened, and consistent with the example config.

Runs the distribution's `systemd-analyze` in its offline modes (no running systemd needed);
skipped where it is not installed. CI installs the `systemd` package.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
UNIT = ROOT / "systemd" / "watcher.service"
SHIPPED_BINARY = "/opt/watcher/venv/bin/watcher"
MAX_EXPOSURE = 2.0

ANALYZE = shutil.which("systemd-analyze")
needs_analyze = pytest.mark.skipif(ANALYZE is None, reason="systemd-analyze is not installed")


def analyze(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    assert ANALYZE is not None
    env = {**os.environ, "SYSTEMD_COLORS": "0", "SYSTEMD_PAGER": "", "LC_ALL": "C.UTF-8"}
    return subprocess.run(
        [ANALYZE, *args], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )


def service_lines() -> list[str]:
    return [line.strip() for line in UNIT.read_text(encoding="utf-8").splitlines()]


def unit_copy(tmp_path: Path, text: str | None = None) -> Path:
    """The shipped unit with its ExecStart= binary pointed at this environment's `watcher`.

    `verify` insists that the binary exists; everything else stays byte for byte.
    """
    installed = Path(sys.executable).parent / "watcher"
    assert installed.is_file(), f"{installed}: the `watcher` console script is not installed"
    shipped = UNIT.read_text(encoding="utf-8") if text is None else text
    assert shipped.count(SHIPPED_BINARY) == 1, f"{UNIT}: expected one ExecStart={SHIPPED_BINARY}"
    copy = tmp_path / "watcher.service"
    copy.write_text(shipped.replace(SHIPPED_BINARY, str(installed)), encoding="utf-8")
    return copy


@needs_analyze
def test_verify_is_clean(tmp_path: Path) -> None:
    copy = unit_copy(tmp_path)
    result = analyze("verify", "--man=no", copy.name, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert result.stderr == ""


@needs_analyze
def test_verify_reports_a_misspelt_setting(tmp_path: Path) -> None:
    # The check above is only worth something if verify does complain about mistakes. On
    # systemd 252 an unknown key is a warning with exit status 0, hence the empty-stderr
    # assertion there.
    broken = UNIT.read_text(encoding="utf-8").replace("ProtectSystem=", "ProtectSytem=")
    copy = unit_copy(tmp_path, broken)
    result = analyze("verify", "--man=no", copy.name, cwd=tmp_path)
    assert "Unknown key 'ProtectSytem'" in result.stderr


@needs_analyze
def test_security_exposure_is_at_most_two(tmp_path: Path) -> None:
    copy = unit_copy(tmp_path)
    result = analyze("security", "--offline=true", copy.name, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    found = re.search(r"Overall exposure level for watcher\.service: (\d+\.\d+)", result.stdout)
    assert found, result.stdout
    assert float(found.group(1)) <= MAX_EXPOSURE, result.stdout


@needs_analyze
def test_security_threshold_gate(tmp_path: Path) -> None:
    # The form CI can use on its own: --threshold is exposure x 10.
    copy = unit_copy(tmp_path)
    threshold = f"--threshold={round(MAX_EXPOSURE * 10)}"
    result = analyze("security", "--offline=true", threshold, copy.name, cwd=tmp_path)
    assert result.returncode == 0, result.stdout


def test_runs_watcher_with_the_system_config() -> None:
    assert f"ExecStart={SHIPPED_BINARY} run --config /etc/watcher/watcher.toml" in service_lines()


def test_reload_is_sighup_to_the_daemon() -> None:
    lines = service_lines()
    assert "Type=notify" in lines
    assert "ExecReload=/bin/kill -HUP $MAINPID" in lines


def test_secrets_of_the_example_config_are_loaded_as_credentials() -> None:
    example = (ROOT / "config.example.toml").read_text(encoding="utf-8")
    # Secrets inside the notifier URLs, commented-out examples included.
    referenced = set(re.findall(r"://[^\"\s]*\$\{([A-Za-z_][A-Za-z0-9_]*)\}", example))
    loaded = {
        line.split("=", 1)[1].split(":", 1)[0]
        for line in service_lines()
        if line.startswith(("LoadCredential=", "LoadCredentialEncrypted="))
    }
    assert referenced, "config.example.toml names no ${SECRET}"
    assert referenced <= loaded, f"not loaded by {UNIT.name}: {sorted(referenced - loaded)}"
