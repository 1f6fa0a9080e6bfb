"""Which notifiers a match goes to: the rule's `notify`, else the route of its severity.

A `notify` name that no notifier has is a mistake in the rule or the config; `watcher check`
reports it and the daemon warns once when it loads the rules. Its alerts are not dropped: the
names that exist still get them, and a rule that names none that exists falls back to the
route of its severity.
"""

from __future__ import annotations

from collections.abc import Iterable

from watcher.config import Settings
from watcher.matching.rule import Problem, Rule


def alert_notifiers(rule: Rule | None, severity: str, settings: Settings) -> list[str]:
    """The configured notifiers a match of `rule` (at `severity`) is queued for."""
    named = [name for name in (rule.notify if rule else []) if name in settings.notifiers]
    return named or list(getattr(settings.routes, severity))


def unknown_notifiers(rules: Iterable[Rule], settings: Settings) -> list[Problem]:
    """One problem per rule whose `notify` names a notifier the config does not have."""
    configured = ", ".join(sorted(settings.notifiers))
    problems = []
    for rule in rules:
        unknown = [name for name in rule.notify if name not in settings.notifiers]
        if not unknown:
            continue
        names = ", ".join(f"'{name}'" for name in unknown)
        fallback = (
            "its alerts go to the others it names"
            if len(unknown) < len(rule.notify)
            else f"its alerts follow routes.{rule.severity}"
        )
        where = rule.notify_location or rule.location
        problems.append(
            Problem(
                where.path,
                where.line,
                where.column,
                f"rule '{rule.id}': notify names unknown notifier {names} "
                f"(configured: {configured}); {fallback}",
            )
        )
    return problems
