"""Command line: `watcher dry-run`, `watcher check`, `watcher rules test`, …"""

from __future__ import annotations

import asyncio
import datetime as dt
import enum
import gc
import io
import json
import logging
import sys
import tempfile
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, TextIO

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from watcher.alerts.dispatch import check_notifier, test_notifier
from watcher.alerts.routes import unknown_notifiers
from watcher.config import (
    ConfigError,
    Settings,
    config_path,
    feed_route,
    load_settings,
    request_headers,
)
from watcher.daemon import Daemon, configure_logging, run_daemon, start_when_the_store_answers
from watcher.demo import FEED_PATH, article_feed, demo_config, serve_feed
from watcher.dryrun import ArticleInput, article_paths, json_line, read_inputs, text_report
from watcher.durations import format_duration, parse_duration
from watcher.feeds.fetch import Fetcher, quiet_noisy_loggers
from watcher.feeds.headers import FeedHeaders, headers_problems
from watcher.feeds.parse import FeedContext
from watcher.feeds.read import FeedRead, read_feed
from watcher.feeds.route import Route, ca_file_problem, proxy_problem
from watcher.matching import LoadedRuleSet, load_ruleset, match_article
from watcher.matching.examples import run_examples
from watcher.replay import RuleTally, compare, summary_rows, tally
from watcher.replay import json_line as replay_json_line
from watcher.replay import text_lines as replay_text_lines
from watcher.runtime import http_limits, parser_pool
from watcher.seedtext import render_many
from watcher.store import Store, StoreError
from watcher.timezones import timezone_problem

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


ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help="TOML config file. Default: $WATCHER_CONFIG, else /etc/watcher/watcher.toml.",
    ),
]


def _settings(config: Path | None) -> Settings:
    try:
        return load_settings(config_path(config))
    except ConfigError as error:
        for problem in error.problems:
            stderr.print(problem, markup=False)
        raise typer.Exit(2) from None


@app.command()
def check(rules: RulesOption = None, config: ConfigOption = None) -> None:
    """Validate config, rules and notifier URLs (nothing is sent): file:line:col: message."""
    failed = False
    rule_paths = rules
    settings = None
    if config is not None or rules is None:
        try:
            settings = load_settings(config_path(config))
        except ConfigError as error:
            for problem in error.problems:
                stdout.print(problem, markup=False)
            raise typer.Exit(1) from None
        problems = [
            *(p for name, n in settings.notifiers.items() for p in check_notifier(name, n)),
            *_feed_problems(settings),
        ]
        source = config_path(config) or "(embedded defaults)"
        for problem in problems:
            stdout.print(f"{source}: {problem}", markup=False)
        failed = bool(problems)
        if rules is None and (config is not None or config_path(None) is not None):
            rule_paths = settings.rules.paths
    loaded = _rules(rule_paths)
    for problem in loaded.problems:
        stdout.print(str(problem), markup=False)
    if settings is not None:
        for problem in unknown_notifiers(loaded.loaded.rules, settings):
            stdout.print(str(problem), markup=False)
            failed = True
    count = len(loaded.ruleset)
    lists = len(loaded.loaded.lists)
    summary = f"{count} rules and {lists} lists loaded from {len(loaded.loaded.files)} files"
    if loaded.errors or failed:
        stderr.print(f"{summary}; problems found", markup=False)
        raise typer.Exit(1)
    stderr.print(f"{summary}; no problems", markup=False)


def _feed_problems(settings: Settings) -> list[str]:
    """`feeds[N].KEY: problem` (N from 1) for headers and routes that cannot be used now,
    such as a secret that is not there."""
    problems = []
    for number, feed in enumerate(settings.feeds, 1):
        try:
            request_headers(feed.url, feed.headers)
        except ConfigError as error:
            problems.append(f"feeds[{number}].headers: {error} (feed '{feed.name}')")
        try:
            feed_route(settings.http, feed.proxy, feed.ca_file)
        except ConfigError as error:
            problems.append(f"feeds[{number}].proxy: {error} (feed '{feed.name}')")
    return problems


class FeedFormat(enum.StrEnum):
    seed = "seed"
    json = "json"


@app.command()
def fetch(
    url: Annotated[str, typer.Argument(help="Feed URL (RSS, Atom or JSON Feed).")],
    output_format: Annotated[FeedFormat, typer.Option("--format", "-f")] = FeedFormat.seed,
    full_text: Annotated[
        bool, typer.Option("--full-text", help="Fetch each article page for its main text.")
    ] = False,
    header: Annotated[
        list[str] | None,
        typer.Option(
            "--header",
            "-H",
            metavar="'NAME: VALUE'",
            help="'Name: value' to send, as a feed's `headers` in the config (repeatable).",
        ),
    ] = None,
    proxy: Annotated[
        str | None,
        typer.Option(
            "--proxy",
            metavar="URL",
            help="Proxy to go through ('direct': none), as a feed's `proxy` in the config.",
        ),
    ] = None,
    ca_file: Annotated[
        Path | None,
        typer.Option(
            "--ca-file",
            metavar="FILE",
            help="PEM certificates to trust besides the default ones, as a feed's `ca_file`.",
        ),
    ] = None,
    timezone: Annotated[
        str | None,
        typer.Option(
            "--timezone",
            metavar="ZONE",
            help="IANA time zone of dates written without one, as a feed's `timezone`.",
        ),
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Print the normalized articles of one feed (the store is not touched)."""
    settings = _settings(config)
    headers = _request_headers(url, header or [])
    route = _route(settings, proxy, ca_file)
    if timezone is not None and (problem := timezone_problem(timezone)):
        stderr.print(f"--timezone: {problem}", markup=False)
        raise typer.Exit(2)
    context = FeedContext(name=url, url=url, timezone=timezone)
    read = asyncio.run(_fetch_one(settings, context, full_text, headers, route))
    if read.error is not None or read.parsed is None:
        reason = read.error or "no content"
        prefix = "" if reason.startswith(url) else f"{url}: "
        stderr.print(f"{prefix}{reason}", markup=False)
        raise typer.Exit(1)
    articles = [entry.article for entry in read.parsed.entries]
    if output_format is FeedFormat.json:
        for article in articles:
            sys.stdout.write(article.model_dump_json() + "\n")
    else:
        sys.stdout.write(render_many(articles))
    for problem in read.parsed.problems + (read.full_text_problems or []):
        stderr.print(problem, markup=False)


def _request_headers(url: str, given: list[str]) -> FeedHeaders | None:
    """The --header options, checked as a feed's `headers` are; exit 2 on a problem."""
    headers: dict[str, str] = {}
    problems = []
    for item in given:
        name, colon, value = item.partition(":")
        if not colon:
            problems.append("--header: expected 'Name: value' (no ':' found)")
        headers[name.strip()] = value.strip()
    problems.extend(f"--header: {problem}" for problem in headers_problems(headers))
    if not problems:
        try:
            return request_headers(url, headers)
        except ConfigError as error:
            problems.append(f"--header: {error}")
    for problem in problems:
        stderr.print(problem, markup=False)
    raise typer.Exit(2)


def _route(settings: Settings, proxy: str | None, ca_file: Path | None) -> Route:
    """The --proxy and --ca-file options over the config's `http` ones; exit 2 on a problem."""
    problems = []
    if proxy is not None and (problem := proxy_problem(proxy)):
        problems.append(f"--proxy: {problem}")
    if ca_file is not None and (problem := ca_file_problem(ca_file)):
        problems.append(f"--ca-file: {ca_file}: {problem}")
    if not problems:
        try:
            return feed_route(settings.http, proxy, ca_file)
        except ConfigError as error:
            problems.append(f"proxy: {error}")
    for problem in problems:
        stderr.print(problem, markup=False)
    raise typer.Exit(2)


async def _fetch_one(
    settings: Settings,
    context: FeedContext,
    full_text: bool,
    headers: FeedHeaders | None,
    route: Route,
) -> FeedRead:
    quiet_noisy_loggers()
    async with Fetcher(http_limits(settings.http)) as fetcher, parser_pool(settings.poll) as parser:
        return await read_feed(
            fetcher,
            parser,
            context,
            now=dt.datetime.now(dt.UTC),
            full_text=full_text,
            headers=headers,
            route=route,
        )


@app.command()
def poll(
    config: ConfigOption = None,
    once: Annotated[bool, typer.Option("--once", help="Poll every feed now (the default).")] = True,
) -> None:
    """Poll the configured feeds once: fetch, normalize, store, match; print the new matches.

    Alerts are queued in the store for `watcher run` to deliver, not sent.
    """
    daemon = _daemon(config, once=True, dry_run=True, stream=io.StringIO())
    run_daemon(daemon)
    for report in daemon.reports:
        if report.error:
            stderr.print(f"{report.feed}: {report.error}", markup=False)
        for entry, matches in report.matches:
            for line in text_report(report.feed, entry.article, matches):
                stdout.print(line)
    polled = [r for r in daemon.reports if r.polled]
    failed = sum(1 for r in polled if r.error and not r.paused)
    paused = sum(1 for r in daemon.reports if r.paused)
    stderr.print(
        f"{len(polled)} feeds polled, {failed} failed, "
        + (f"{paused} paused by their servers, " if paused else "")
        + f"{sum(r.new for r in polled)} new entries, "
        f"{sum(len(m) for r in polled for _, m in r.matches)} matches",
        markup=False,
    )


@app.command()
def run(
    config: ConfigOption = None,
    once: Annotated[
        bool, typer.Option("--once", help="One cycle: poll all feeds, deliver, exit.")
    ] = False,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Print alerts instead of sending them (they stay queued)."),
    ] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Run the daemon: poll on schedule and deliver alerts (SIGHUP reloads, SIGTERM stops)."""
    configure_logging(logging.DEBUG if verbose else logging.INFO)
    if once:
        daemon = _daemon(config, once=once, dry_run=dry_run)
    else:
        try:
            daemon = _guarded(
                lambda: start_when_the_store_answers(
                    config_path(config), dry_run=dry_run, stream=sys.stdout
                )
            )
        except KeyboardInterrupt:  # while waiting for the store: nothing started yet
            raise typer.Exit(130) from None
    raise typer.Exit(run_daemon(daemon))


def _daemon(
    config: Path | None, *, once: bool, dry_run: bool, stream: TextIO | None = None
) -> Daemon:
    return _guarded(
        lambda: Daemon.start(
            config_path(config), once=once, dry_run=dry_run, stream=stream or sys.stdout
        )
    )


def _guarded(start: Callable[[], Daemon]) -> Daemon:
    """The daemon `start` makes, or exit 2 with what is wrong with the config or store."""
    try:
        return start()
    except ConfigError as error:
        for problem in error.problems:
            stderr.print(problem, markup=False)
        raise typer.Exit(2) from None
    except StoreError as error:
        stderr.print(f"store: {error}", markup=False)
        raise typer.Exit(2) from None


@app.command()
def demo(
    paths: Annotated[
        list[str] | None,
        typer.Argument(help="Seed-format files or directories to serve. Default: ./examples"),
    ] = None,
    rules: RulesOption = None,
) -> None:
    """One daemon cycle offline: saved articles served as a feed on loopback, polled into a
    throwaway SQLite store, matched, and alerted on the console."""
    articles = []
    unreadable = 0
    for path in article_paths(paths or ["examples"]):
        for item in read_inputs(path):
            if item.article is None:
                unreadable += 1
                stderr.print(_input_error(item), markup=False)
            else:
                articles.append(item.article)
    if not articles:
        stderr.print("demo: no readable articles to serve", markup=False)
        raise typer.Exit(2)
    rule_paths = rules or [Path("rules")]
    loaded = load_ruleset(rule_paths)
    if not loaded.loaded.rules:
        # A demo without rules would poll and store, and alert on nothing.
        _print_problems(loaded)
        stderr.print("demo: no usable rules: give --rules PATH", markup=False)
        raise typer.Exit(1)
    configure_logging(logging.INFO)
    with (
        tempfile.TemporaryDirectory(prefix="watcher-demo-") as workdir,
        serve_feed(lambda site: article_feed(articles, site)) as site,
    ):
        config, store = Path(workdir, "watcher.toml"), Path(workdir, "watcher.db")
        config.write_text(
            demo_config(site + FEED_PATH, store, rule_paths, alerts=len(articles)),
            encoding="utf-8",
        )
        served = f"{len(articles)} article{'s' if len(articles) != 1 else ''}"
        stderr.print(
            f"demo: {served} served at {site}{FEED_PATH}, store {store} (removed at exit)",
            markup=False,
        )
        status = run_daemon(_daemon(config, once=True, dry_run=False))
    # The daemon has logged the problems of the rules it skipped.
    raise typer.Exit(2 if unreadable else 1 if loaded.errors else status)


@app.command()
def replay(
    config: ConfigOption = None,
    rules: RulesOption = None,
    since: Annotated[
        str | None,
        typer.Option(help="Only articles first seen this long ago or later (7d, 12h)."),
    ] = None,
    output_format: Annotated[OutputFormat, typer.Option("--format", "-f")] = OutputFormat.text,
    show_all: Annotated[
        bool, typer.Option("--all", help="Also list the matches a change keeps.")
    ] = False,
) -> None:
    """Match today's rules against the stored articles: what they would add and remove.

    Nothing is stored or sent.
    """
    settings = _settings(config)
    try:
        cutoff = dt.datetime.now(dt.UTC) - parse_duration(since) if since else None
    except ValueError as error:
        stderr.print(f"--since: {error}", markup=False)
        raise typer.Exit(2) from None
    try:
        store = Store.open(settings.store.url, migrate=False)
    except StoreError as error:
        stderr.print(f"store: {error}", markup=False)
        raise typer.Exit(2) from None
    loaded = _rules(rules or settings.rules.paths)
    _print_problems(loaded)
    known = {rule.id for rule in loaded.loaded.rules}
    tallies: dict[str, RuleTally] = {}
    articles = 0
    with store:
        for stored in store.stored_articles(cutoff):
            articles += 1
            verdicts = compare(stored.matched, match_article(loaded.ruleset, stored.article), known)
            tally(verdicts, tallies)
            shown = [v for v in verdicts if show_all or v.change != "kept"]
            if not shown:
                continue
            if output_format is OutputFormat.json:
                for verdict in shown:
                    sys.stdout.write(replay_json_line(stored, verdict) + "\n")
            else:
                for line in replay_text_lines(stored, shown):
                    stdout.print(line)
    _print_replay_summary(articles, cutoff, tallies, known, output_format)
    if loaded.errors:
        raise typer.Exit(1)


def _print_replay_summary(
    articles: int,
    cutoff: dt.datetime | None,
    tallies: dict[str, RuleTally],
    known: set[str],
    output_format: OutputFormat,
) -> None:
    added = sum(t.added for t in tallies.values())
    removed = sum(t.removed for t in tallies.values())
    scope = f"since {_when(cutoff)}" if cutoff else "all stored"
    line = f"{articles} articles replayed ({scope}); matches: {added} added, {removed} removed"
    if output_format is OutputFormat.json:
        stderr.print(line, markup=False)
        return
    table = Table("rule", "stored", "now", "added", "removed", box=None)
    for rule, then, now, rule_added, rule_removed in summary_rows(tallies):
        table.add_row(
            rule,
            str(then),
            str(now) if rule in known else "not loaded",
            f"+{rule_added}",
            f"-{rule_removed}",
        )
    stdout.print()
    stdout.print(table)
    stdout.print(line, markup=False)


@app.command()
def enable(
    name: Annotated[str, typer.Argument(help="The feed's name in the config.")],
    config: ConfigOption = None,
) -> None:
    """Poll again a feed that a 410 Gone stopped (a running daemon picks it up at once)."""
    settings = _settings(config)
    try:
        with Store.open(settings.store.url) as store:
            enabled = store.enable_feed(name, dt.datetime.now(dt.UTC))
    except StoreError as error:
        stderr.print(f"store: {error}", markup=False)
        raise typer.Exit(2) from None
    if not enabled:
        stderr.print(f"{name}: no stopped feed of that name", markup=False)
        raise typer.Exit(1)
    stdout.print(f"{name}: enabled; it is polled at the next dispatch", markup=False)


@app.command()
def status(
    config: ConfigOption = None,
    output_format: Annotated[OutputFormat, typer.Option("--format", "-f")] = OutputFormat.text,
) -> None:
    """Show each feed (last poll, HTTP status, error, next check, entries) and the outbox."""
    settings = _settings(config)
    try:
        store = Store.open(settings.store.url, migrate=False)
    except StoreError as error:
        stderr.print(f"store: {error}", markup=False)
        raise typer.Exit(2) from None
    with store:
        feeds = store.feed_status()
        counts = store.outbox_counts()
        dead = store.alerts("dead", limit=10)
    if output_format is OutputFormat.json:
        sys.stdout.write(
            json.dumps(
                {
                    "feeds": [_plain(asdict(f)) for f in feeds],
                    "outbox": _plain(asdict(counts)),
                    "dead": [
                        {
                            "id": a.id,
                            "notifier": a.notifier,
                            "rule": a.rule_id,
                            "error": a.last_error,
                        }
                        for a in dead
                    ],
                },
                ensure_ascii=False,
            )
            + "\n"
        )
        return
    columns = ("feed", "last poll", "late", "took", "HTTP", "error", "next check", "entries")
    table = Table(*columns, box=None)
    late_after = settings.poll.late_after.total_seconds()
    for feed in feeds:
        state = (
            (feed.disabled_reason and f"stopped: {feed.disabled_reason}") or feed.last_error or ""
        )
        if feed.removed_at:
            state = "removed from config"
        elif not state and feed.silent_since:
            state = f"silent (no new entry) since {_when(feed.silent_since)}"
        late = feed.last_late_seconds
        took = feed.last_fetch_seconds
        table.add_row(
            feed.name,
            _when(feed.last_polled_at),
            format_duration(dt.timedelta(seconds=late)) if late and late > late_after else "",
            "-" if took is None else f"{took:.1f} s",
            str(feed.last_status or ""),
            escape(state[:60]),
            _when(feed.next_check_at),
            str(feed.entries_seen),
        )
    # A terminal's width folds long cells; into a pipe or a file, each feed keeps one line.
    (stdout if stdout.is_terminal else Console(highlight=False, width=1000)).print(table)
    stdout.print(
        f"outbox: {counts.pending} pending, {counts.sent} sent, {counts.dead} dead"
        + (
            f" (oldest pending {_when(counts.oldest_pending_at)})"
            if counts.oldest_pending_at
            else ""
        ),
        markup=False,
    )
    for alert in dead:
        stdout.print(
            f"  dead #{alert.id} {alert.notifier}/{alert.rule_id}: {alert.last_error}", markup=False
        )


def _when(value: dt.datetime | None) -> str:
    return value.astimezone().strftime("%Y-%m-%d %H:%M:%S") if value else "-"


def _plain(data: dict) -> dict:
    return {k: v.isoformat() if isinstance(v, dt.datetime) else v for k, v in data.items()}


@app.command("notify-test")
def notify_test(
    name: Annotated[str, typer.Argument(help="Notifier name from the config.")],
    config: ConfigOption = None,
) -> None:
    """Send a test message through one notifier and report each service's real result."""
    settings = _settings(config)
    notifier = settings.notifiers.get(name)
    if notifier is None:
        stderr.print(
            f"no notifier '{name}' (configured: {', '.join(settings.notifiers)})", markup=False
        )
        raise typer.Exit(2)
    delivery = asyncio.run(test_notifier(name, notifier, stream=sys.stdout))
    for result in delivery.results:
        mark = "sent" if result.ok else result.status.upper()
        detail = f": {result.error}" if result.error else ""
        stdout.print(f"{result.service} ({result.kind}) {mark}{detail}", markup=False)
    if not delivery.ok:
        raise typer.Exit(1)


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
