"""The shipped example articles are well-formed seed text."""

from __future__ import annotations

from pathlib import Path

import pytest

from watcher.seedtext import read_articles, read_file, render

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
FILES = sorted(EXAMPLES.glob("*.txt"))


def test_there_are_examples_to_dry_run() -> None:
    assert len(FILES) >= 10


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_example_reads_and_re_renders_byte_identical(path: Path) -> None:
    article = read_file(path)
    assert path.name.startswith(article.date.isoformat())
    assert article.title and article.summary and article.source
    assert any(block.kind == "paragraph" for block in article.body)
    assert render(article).encode("utf-8") == path.read_bytes()
    assert list(read_articles(path)) == [article]
