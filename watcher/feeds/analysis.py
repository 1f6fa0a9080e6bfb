"""What a parser worker works out for a feed's entries besides parsing them: their matches.

Matching is pure CPU work on data the worker already holds; done there, it runs beside the
daemon's own process (which fetches, stores and sends) instead of queueing behind it. The
worker matches every entry, new or not: it cannot know which ones the store has seen, and the
poller uses the matches of the new ones only.
"""

from __future__ import annotations

import logging

from watcher.feeds.parse import ParsedFeed
from watcher.matching import RuleSet, match_article

log = logging.getLogger(__name__)


def match_entries(parsed: ParsedFeed, rules: RuleSet, rules_version: int) -> ParsedFeed:
    """The feed with each entry's matches; an entry the matcher fails on is left for the
    poller to match (and to report) itself."""
    entries = []
    for entry in parsed.entries:
        try:
            matches = match_article(rules, entry.article)
        except Exception:
            log.exception("%s: matching failed in the parser worker", entry.key)
            entries.append(entry)
            continue
        entries.append(entry.model_copy(update={"matches": matches}))
    return parsed.model_copy(update={"entries": entries, "rules_version": rules_version})
