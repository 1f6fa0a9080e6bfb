"""What a parser worker works out for a feed's entries besides parsing them: their matches
and their story keys.

Both are pure CPU work on data the worker already holds; done there, they run beside the
daemon's own process (which fetches, stores and sends) instead of queueing behind it. Only the
new entries need them; the worker cannot know which those are, but the poller can say which
entries the feed listed the last time it was stored (all of them still seen), and those are
skipped (most are not even normalized: see `parse_feed`).
"""

from __future__ import annotations

import logging
from collections.abc import Container

from watcher.feeds.parse import ParsedFeed
from watcher.matching import RuleSet, match_article
from watcher.stories import story_keys

log = logging.getLogger(__name__)


def match_entries(
    parsed: ParsedFeed,
    rules: RuleSet,
    rules_version: int,
    listed_before: Container[str] = frozenset(),
) -> ParsedFeed:
    """The feed with each entry's matches and story keys, except for the entries whose keys are
    in `listed_before` (already seen: they keep `matches` None); an entry the matcher fails on
    is left for the poller to match (and to report) itself."""
    entries = []
    for entry in parsed.entries:
        if entry.key in listed_before:
            entries.append(entry)
            continue
        article = entry.article
        update: dict[str, object] = {"story_keys": story_keys(article.title, article.summary)}
        try:
            update["matches"] = match_article(rules, article)
        except Exception:
            log.exception("%s: matching failed in the parser worker", entry.key)
        entries.append(entry.model_copy(update=update))
    return parsed.model_copy(update={"entries": entries, "rules_version": rules_version})
