"""Command line: `watcher dry-run`, `watcher check`, `watcher rules test`, …"""

from __future__ import annotations

import enum
import gc
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from watcher.dryrun import ArticleInput, article_paths, json_line, read_inputs, text_report
from watcher.matching import LoadedRuleSet, load_ruleset, match_article
from watcher.matching.examples import run_examples

app = typer.Typer(
    help="watcher: news-feed monitoring with topic rules and alerts.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
rules_app = typer.Typer(help="Work with rule files.", no_args_is_help=True)
app.add_typer(rules_app, name="rules")

stdout = Console(highlight=False, soft_wrap=True)
stderr = Console(stderr=True, highlight=False, soft_wrap=True)

RulesOption = Annotated[
    list[Path] | None,
    typer.Option(
        "--rules",
        "-r",
        help="Rule file or directory (repeatable). Default: ./rules",
    ),
]


class OutputFormat(enum.StrEnum):
    text = "text"
    json = "json"


def _rules(paths: list[Path] | None) -> LoadedRuleSet:
    loaded = load_ruleset(paths or [Path("rules")])
    # Rules live for the whole run: keep the collector from rescanning them per article.
    gc.freeze()
    return loaded


def _print_problems(loaded: LoadedRuleSet) -> None:
    for problem in loaded.problems:
        stderr.print(str(problem), markup=False)


@app.command("dry-run")
def dry_run(
    paths: Annotated[
        list[str], typer.Argument(help="Seed-format files, directories, or - for stdin.")
    ],
    rules: RulesOption = None,
    output_format: Annotated[OutputFormat, typer.Option("--format", "-f")] = OutputFormat.text,
    show_all: Annotated[
        bool, typer.Option("--all", help="Also report the rules that did not match.")
    ] = False,
) -> None:
    """Match rules against saved articles and show the evidence."""
    loaded = _rules(rules)
    _print_problems(loaded)
    files = list(article_paths(paths))
    unreadable = 0
    show_progress = stderr.is_terminal and len(files) > 20
    with Progress(
        TextColumn("matching"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=stderr,
        disable=not show_progress,
        transient=True,
    ) as progress:
        task = progress.add_task("articles", total=len(files))
        for path in files:
            for item in read_inputs(path):
                if item.article is None:
                    unreadable += 1
                    stderr.print(_input_error(item), markup=False)
                    continue
                _report(loaded, item, output_format, show_all)
            progress.advance(task)
    if unreadable:
        raise typer.Exit(2)
    if loaded.errors:
        raise typer.Exit(1)


def _input_error(item: ArticleInput) -> str:
    return str(item.error)


def _report(
    loaded: LoadedRuleSet, item: ArticleInput, output_format: OutputFormat, show_all: bool
) -> None:
    article = item.article
    assert article is not None
    matches = match_article(loaded.ruleset, article, include_misses=show_all)
    if output_format is OutputFormat.json:
        for match in matches:
            sys.stdout.write(json_line(item.label, article, match) + "\n")
        return
    for line in text_report(item.label, article, matches):
        stdout.print(line)


@app.command()
def check(rules: RulesOption = None) -> None:
    """Validate rule files: print every problem as file:line:col: message."""
    loaded = _rules(rules)
    for problem in loaded.problems:
        stdout.print(str(problem), markup=False)
    count = len(loaded.ruleset)
    lists = len(loaded.loaded.lists)
    summary = f"{count} rules and {lists} lists loaded from {len(loaded.loaded.files)} files"
    if loaded.errors:
        stderr.print(f"{summary}; {len(loaded.errors)} problems", markup=False)
        raise typer.Exit(1)
    stderr.print(f"{summary}; no problems", markup=False)


@rules_app.command("test")
def rules_test(rules: RulesOption = None) -> None:
    """Run every rule's embedded examples; print the failures."""
    loaded = _rules(rules)
    _print_problems(loaded)
    results = run_examples(loaded.ruleset)
    failed = [r for r in results if r.failed]
    todo_open = [r for r in results if r.todo and not r.passed]
    for result in failed:
        location = result.example.location
        expectation = "should match" if result.kind == "match" else "should not match"
        stdout.print(
            f"{location}: FAIL {result.rule_id}: example {expectation} ({result.detail})",
            markup=False,
        )
    for result in todo_open:
        stdout.print(
            f"{result.example.location}: todo {result.rule_id}: {result.kind} still open "
            f"({result.detail})",
            markup=False,
        )
    passed = sum(1 for r in results if r.passed)
    stdout.print(
        f"{passed} passed, {len(failed)} failed, {len(todo_open)} todo "
        f"({len(loaded.ruleset)} rules)",
        markup=False,
    )
    if failed or loaded.errors:
        raise typer.Exit(1)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
