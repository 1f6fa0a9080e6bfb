"""The plain values that go in and out of the store: the store never sees a rule, a matcher or
an apprise object, only these."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from watcher.article import Article
from watcher.stories import StoryKeys

#: How a fetch counts for the feed's health: `counted` (an error raises the error count, a
#: success resets it), `paused` (the server asked for a pause, a 429 or 503 with Retry-After:
#: status and reason are recorded, the error count and last success stay), `not_fetched`
#: (nothing was sent, its host is cooling down: only the next check moves).
FetchEffect = Literal["counted", "paused", "not_fetched"]
AlertKind = Literal["immediate", "digest"]
AlertStatus = Literal["pending", "sent", "dead"]
SkipReason = Literal["duplicate", "throttled"]
ALERT_KINDS: tuple[str, ...] = ("immediate", "digest")
ALERT_STATUSES: tuple[str, ...] = ("pending", "sent", "dead")


class FeedConfigLike(Protocol):
    """What the store needs from a configured feed (the config model satisfies it)."""

    @property
    def name(self) -> str: ...

    @property
    def url(self) -> str: ...


class MatchLike(Protocol):
    """What the store keeps of a rule match (`watcher.matching.Match` satisfies it)."""

    @property
    def rule_id(self) -> str: ...

    @property
    def score(self) -> float: ...

    @property
    def evidence(self) -> Sequence[Any]: ...


@dataclass(frozen=True, slots=True)
class FeedRow:
    """A feed as the poller needs it: where to fetch, the validators to send, how it went last."""

    id: int
    name: str
    url: str
    etag: str | None
    last_modified: str | None
    body_hash: str | None
    last_status: int | None
    error_count: int
    next_check_at: dt.datetime
    last_success_at: dt.datetime | None
    added_at: dt.datetime
    #: The RSS <ttl> of the last body read (minutes; None: it had none).
    ttl_minutes: int | None
    lease_owner: str | None
    lease_until: dt.datetime | None
    # When the store last took in the feed's list of entries: every entry then listed is
    # still seen (retention keeps what the latest listing named).
    listed_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class FeedStatus:
    """One line of `watcher status`."""

    name: str
    url: str
    last_polled_at: dt.datetime | None
    last_success_at: dt.datetime | None
    last_new_at: dt.datetime | None
    last_status: int | None
    last_error: str | None
    error_count: int
    next_check_at: dt.datetime
    disabled_reason: str | None
    removed_at: dt.datetime | None
    leased_by: str | None
    entries_seen: int
    last_fetch_seconds: float | None
    last_late_seconds: float | None
    silent_since: dt.datetime | None


@dataclass(frozen=True, slots=True)
class SilenceCandidate:
    """A feed that could have gone silent: polled fine, its first entries seen, not stopped."""

    id: int
    name: str
    #: When its last new entry arrived (or its first poll, when none has since).
    last_arrival: dt.datetime
    silent_since: dt.datetime | None
    #: The distinct times its remembered entries arrived, oldest first (the first poll, which
    #: only marked what was there, not counted).
    arrivals: tuple[dt.datetime, ...]


@dataclass(frozen=True, slots=True)
class SyncResult:
    """What `sync_feeds` changed, by feed name."""

    added: list[str] = field(default_factory=list)
    changed_url: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    restored: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Validators:
    """What a 200 response said about itself, stored as received (None where absent)."""

    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None


@dataclass(frozen=True, slots=True)
class FetchOutcome:
    """The result of one fetch, as the feed row records it.

    `status` is the HTTP status, None when no response came (DNS, TLS, timeout). `error` set
    means the poll failed (the error count goes up; otherwise it resets). `validators` replace
    the stored ones when given and leave them alone when None (a 304, or a failure).
    `moved_to` is the new URL after a permanent redirect. A 410 stops the feed with `error` as
    the recorded reason; no other status ever stops a feed.
    """

    status: int | None
    next_check_at: dt.datetime
    error: str | None = None
    validators: Validators | None = None
    moved_to: str | None = None
    effect: FetchEffect = "counted"
    #: The body was read: its RSS <ttl> (or None, for none) replaces the stored one.
    read_ttl: bool = False
    ttl_minutes: int | None = None
    #: How long the server took to answer (None: no request was sent).
    fetch_seconds: float | None = None
    #: How long after the feed was due the poll started (0 when on time or early).
    late_seconds: float = 0.0


@dataclass(frozen=True, slots=True)
class AlertSpec:
    """An alert the caller wants queued for a new entry, should the store find it new.

    The store fills in the story and the dedup key. `payload` must be JSON-serializable.
    `throttle`: when an immediate alert for the same notifier and rule was queued less than
    this long ago, this one is not queued (reported as throttled).
    """

    notifier: str
    rule_id: str
    kind: AlertKind = "immediate"
    payload: Mapping[str, Any] = field(default_factory=dict)
    throttle: dt.timedelta | None = None


@dataclass(frozen=True, slots=True)
class PolledEntry:
    """One entry of a fetched feed, with what the caller computed for it.

    `canonical_url` clusters stories across feeds (None: the entry has no usable link).
    `matches` and `alerts` only matter when the entry turns out to be new (the store ignores them
    otherwise, so they may be left empty for entries `filter_new` reported as seen).
    `story_keys`, when given, must be `story_keys(article.title, article.summary)`, computed
    ahead (in a parser worker, say) so that ingest skips the costly part of story clustering;
    None: ingest computes them.
    """

    entry_key: str
    article: Article
    canonical_url: str | None = None
    matches: Sequence[MatchLike] = ()
    alerts: Sequence[AlertSpec] = ()
    story_keys: StoryKeys | None = None


@dataclass(frozen=True, slots=True)
class PollInput:
    """One poll to ingest (`Store.ingest_many`): every entry the feed listed, the time of the
    poll, how many of a first poll's newest entries may alert, and the fetch outcome to record
    with it (None: record none).

    `seen_keys`: more listed entries, by key alone, that the caller knows the store has seen
    (the feed's latest stored listing named them) and so built no articles for. Their seen
    marks are kept fresh like any listed entry's; one the store turns out not to know is only
    marked seen.

    `first_poll_only`: the caller took this for the feed's first poll, which only marks its
    entries seen, and gave some of them as `seen_keys` for that reason alone. If a poll of
    the feed went in meanwhile, those entries may be new: the poll is refused (StoreError)
    and nothing of it is written, so the next poll reads them.
    """

    feed_id: int
    entries: Sequence[PolledEntry]
    now: dt.datetime
    first_poll_alerts: int = 0
    fetch: FetchOutcome | None = None
    seen_keys: Sequence[str] = ()
    first_poll_only: bool = False


@dataclass(frozen=True, slots=True)
class NewEntries:
    """Which of the listed keys the store has not seen, and whether this is the feed's first poll
    (whose entries are marked seen without alerting)."""

    keys: frozenset[str]
    first_poll: bool


@dataclass(frozen=True, slots=True)
class NewArticle:
    """A new entry the store kept (with its matches and alerts), and the story it joined."""

    entry_key: str
    article_id: int
    story_id: int
    new_story: bool


@dataclass(frozen=True, slots=True)
class QueuedAlert:
    """An outbox row this ingest created."""

    alert_id: int
    dedup_key: str
    notifier: str
    rule_id: str
    story_id: int
    article_id: int
    kind: AlertKind


@dataclass(frozen=True, slots=True)
class SkippedAlert:
    """An alert spec that was not queued: the story already alerted this rule and notifier
    (`duplicate`), or the rule's throttle window is still open (`throttled`)."""

    notifier: str
    rule_id: str
    story_id: int
    entry_key: str
    reason: SkipReason


@dataclass(frozen=True, slots=True)
class IngestResult:
    """What one poll's ingest stored: `new` entries kept as articles, and the keys of `quiet`
    ones (a first poll's) that were only marked seen."""

    listed: int
    first_poll: bool
    new: list[NewArticle]
    quiet: list[str]
    alerts: list[QueuedAlert]
    skipped: list[SkippedAlert]
    #: When the feed had been found silent, if this poll's new entries ended that silence.
    silence_ended: dt.datetime | None = None

    @property
    def all_new(self) -> bool:
        """Every listed entry was new on a poll after the first: entries were probably missed
        between polls (the feed is too short for its poll interval)."""
        return not self.first_poll and self.listed > 1 and len(self.new) == self.listed


@dataclass(frozen=True, slots=True)
class AlertRow:
    """An outbox row, with the article that triggered it."""

    id: int
    notifier: str
    rule_id: str
    story_id: int | None
    article_id: int | None
    dedup_key: str
    kind: AlertKind
    payload: dict[str, Any]
    status: AlertStatus
    attempts: int
    created_at: dt.datetime
    next_attempt_at: dt.datetime
    last_error: str | None
    results: list[Any] | None
    sent_at: dt.datetime | None
    article: Article | None


@dataclass(frozen=True, slots=True)
class StoredArticle:
    """An article as stored, and the score of each rule that matched it then."""

    id: int
    feed: str
    first_seen_at: dt.datetime
    article: Article
    matched: dict[str, float]


@dataclass(frozen=True, slots=True)
class StorySource:
    """One article of a story, for listing the story's sources in a message."""

    feed: str
    source: str
    title: str
    url: str | None
    published_at: dt.datetime | None
    first_seen_at: dt.datetime


@dataclass(frozen=True, slots=True)
class OutboxCounts:
    pending: int
    sent: int
    dead: int
    oldest_pending_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class PruneResult:
    """How many rows `prune` deleted, per table."""

    seen_entries: int
    articles: int
    stories: int
    alerts: int
