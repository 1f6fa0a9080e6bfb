"""The tables (DESIGN §6). Migration step 1 creates exactly these; see migrations.py for how a
later change is made."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from watcher.store.types import Json, UTCDateTime

metadata = MetaData()

NAME = String(200)

schema_version = Table(
    "schema_version",
    metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("applied_at", UTCDateTime, nullable=False),
)

feed = Table(
    "feed",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", NAME, nullable=False, unique=True),
    # The URL in the config, and the URL polled (they differ after a permanent redirect).
    Column("config_url", Text, nullable=False),
    Column("url", Text, nullable=False),
    Column("etag", Text),
    Column("last_modified", Text),
    Column("body_hash", String(128)),
    Column("last_status", Integer),
    Column("last_error", Text),
    Column("error_count", Integer, nullable=False, default=0),
    Column("last_polled_at", UTCDateTime),
    Column("last_success_at", UTCDateTime),
    # The last poll that brought a new entry (staleness is judged against it).
    Column("last_new_at", UTCDateTime),
    # The last poll whose entries were read: entries it listed are never pruned.
    Column("listed_at", UTCDateTime),
    # When the first poll's entries were marked seen; NULL means the next ingest is the first.
    Column("primed_at", UTCDateTime),
    Column("next_check_at", UTCDateTime, nullable=False),
    # The RSS <ttl> of the last body read: 304s and unchanged bodies still wait for it.
    Column("ttl_minutes", Integer),
    # The last poll in time, for `watcher status`: how long the server took to answer (seconds,
    # queueing for a slot not counted), and how long after its due time the poll started.
    Column("last_fetch_seconds", Float),
    Column("last_late_seconds", Float),
    # Set when the feed was found silent (no new entry for longer than its rhythm allows) and
    # the ops notifier told; cleared by its next new entry.
    Column("silent_since", UTCDateTime),
    Column("lease_owner", NAME),
    Column("lease_until", UTCDateTime),
    # Set only by a 410 Gone; other errors back off but never stop a feed.
    Column("disabled_reason", Text),
    Column("added_at", UTCDateTime, nullable=False),
    Column("removed_at", UTCDateTime),
    Index("ix_feed_due", "next_check_at"),
)

seen_entry = Table(
    "seen_entry",
    metadata,
    Column("feed_id", Integer, ForeignKey("feed.id", ondelete="CASCADE"), primary_key=True),
    Column("entry_key", Text, primary_key=True),
    Column("first_seen_at", UTCDateTime, nullable=False),
    # Refreshed by every poll that still lists the entry; retention is judged on it.
    Column("last_seen_at", UTCDateTime, nullable=False),
    Index("ix_seen_entry_last_seen", "last_seen_at"),
)

story = Table(
    "story",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("canonical_url", Text),
    # The folded words of the first article's title and summary, for near-duplicate checks.
    Column("title_words", Text, nullable=False),
    Column("summary_words", Text, nullable=False),
    Column("first_seen_at", UTCDateTime, nullable=False),
    Column("last_seen_at", UTCDateTime, nullable=False),
    Index("ix_story_last_seen", "last_seen_at"),
)

# LSH band keys of a story's fingerprint (stories.py): a story similar enough to a new article
# shares a key with it, so candidates come from an index lookup. Only the stories of the
# clustering window need them; retention drops the others.
story_band = Table(
    "story_band",
    metadata,
    Column("story_id", Integer, ForeignKey("story.id", ondelete="CASCADE"), primary_key=True),
    Column("band_key", BigInteger, primary_key=True),
    Index("ix_story_band_key", "band_key"),
)

article = Table(
    "article",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("feed_id", Integer, ForeignKey("feed.id", ondelete="CASCADE"), nullable=False),
    Column("entry_key", Text, nullable=False),
    Column("story_id", Integer, ForeignKey("story.id"), nullable=False),
    Column("url", Text),
    Column("canonical_url", Text),
    Column("title", Text, nullable=False),
    Column("published_at", UTCDateTime),
    Column("fetched_at", UTCDateTime),
    Column("first_seen_at", UTCDateTime, nullable=False),
    Column("data", Json, nullable=False),
    UniqueConstraint("feed_id", "entry_key", name="uq_article_entry"),
    Index("ix_article_canonical_url", "canonical_url"),
    Index("ix_article_story", "story_id"),
    Index("ix_article_first_seen", "first_seen_at"),
)

match = Table(
    "match",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("article_id", Integer, ForeignKey("article.id", ondelete="CASCADE"), nullable=False),
    Column("rule_id", NAME, nullable=False),
    Column("score", Float, nullable=False),
    Column("evidence", Json, nullable=False),
    UniqueConstraint("article_id", "rule_id", name="uq_match_article_rule"),
)

alert = Table(
    "alert",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("notifier", NAME, nullable=False),
    Column("rule_id", NAME, nullable=False),
    Column("story_id", Integer, ForeignKey("story.id")),
    Column("article_id", Integer, ForeignKey("article.id")),
    Column("dedup_key", String(64), nullable=False, unique=True),
    Column("kind", String(16), nullable=False),
    Column("payload", Json, nullable=False),
    Column("status", String(8), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("last_error", Text),
    # Per-service results of the last delivery attempt (apprise 2.x reports each service).
    Column("results", Json),
    Column("lease_owner", NAME),
    Column("lease_until", UTCDateTime),
    Column("created_at", UTCDateTime, nullable=False),
    Column("sent_at", UTCDateTime),
    CheckConstraint("kind IN ('immediate', 'digest')", name="ck_alert_kind"),
    CheckConstraint("status IN ('pending', 'sent', 'dead')", name="ck_alert_status"),
    Index("ix_alert_due", "status", "kind", "next_attempt_at"),
    Index("ix_alert_throttle", "notifier", "rule_id", "created_at"),
    Index("ix_alert_story", "story_id"),
    Index("ix_alert_article", "article_id"),
)
