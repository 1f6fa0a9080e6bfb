"""The store: feed state, seen entries, articles, stories, matches and the alert outbox
(DESIGN §6, §8), on SQLite by default or PostgreSQL by URL."""

from watcher.store.errors import StoreError, StoreUnavailable, unavailable_reason
from watcher.store.ingest import newest_first
from watcher.store.location import default_path
from watcher.store.migrations import LATEST_VERSION
from watcher.store.outbox import dedup_key
from watcher.store.store import Store
from watcher.store.values import (
    AlertKind,
    AlertRow,
    AlertSpec,
    AlertStatus,
    FeedConfigLike,
    FeedRow,
    FeedStatus,
    FetchOutcome,
    IngestResult,
    MatchLike,
    NewArticle,
    NewEntries,
    OutboxCounts,
    PolledEntry,
    PollInput,
    PruneResult,
    QueuedAlert,
    SilenceCandidate,
    SkippedAlert,
    StoredArticle,
    StorySource,
    SyncResult,
    Validators,
)
from watcher.stories import Fingerprint, StoryKeys, clusterable_url, story_keys

__all__ = [
    "LATEST_VERSION",
    "AlertKind",
    "AlertRow",
    "AlertSpec",
    "AlertStatus",
    "FeedConfigLike",
    "FeedRow",
    "FeedStatus",
    "FetchOutcome",
    "Fingerprint",
    "IngestResult",
    "MatchLike",
    "NewArticle",
    "NewEntries",
    "OutboxCounts",
    "PollInput",
    "PolledEntry",
    "PruneResult",
    "QueuedAlert",
    "SilenceCandidate",
    "SkippedAlert",
    "Store",
    "StoreError",
    "StoreUnavailable",
    "StoredArticle",
    "StoryKeys",
    "StorySource",
    "SyncResult",
    "Validators",
    "clusterable_url",
    "dedup_key",
    "default_path",
    "newest_first",
    "story_keys",
    "unavailable_reason",
]
