"""The part of a benchmark's watcher config that every benchmark shares."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

RULES = Path(__file__).resolve().parent.parent / "rules"


def config_head(directory: Path, poll: Mapping[str, object]) -> list[str]:
    """TOML lines: a SQLite store in `directory`, the shipped rules, and `[poll]` settings."""
    return [
        "[store]",
        f'url = "sqlite:///{directory / "watcher.db"}"',
        "[rules]",
        f'paths = ["{RULES}"]',
        "[poll]",
        *(f"{key} = {value}" for key, value in poll.items()),
    ]
