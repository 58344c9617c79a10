"""The database schema as SQLAlchemy Core tables (the migrations create exactly these).

Times are stored as naive UTC and come back tz-aware (`UTCDateTime`); hour buckets are integer
epoch hours so both SQLite and PostgreSQL index and compare them cheaply.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
)


class UTCDateTime(TypeDecorator[datetime]):
    """Store naive UTC, return aware UTC: SQLite has no time zones, PostgreSQL would convert."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


metadata = MetaData()

runs = Table(
    "runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("started_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime),
    Column("status", String(16), nullable=False),  # running | ok | failed | abandoned
    Column("source", Text, nullable=False, default=""),
    Column("params", JSON, nullable=False, default=dict),
    Column("report", JSON, nullable=False, default=dict),
    Column("error", Text),
)

signatures = Table(
    "signatures",
    metadata,
    Column("key", String(32), primary_key=True),
    Column("normalized", Text, nullable=False),
    Column("template", Text, nullable=False),
    Column("error_type", Text, nullable=False, default=""),
    Column("service", Text, nullable=False, default=""),
    Column("strategy", String(64), nullable=False),
    Column("first_seen", UTCDateTime, nullable=False),
    Column("last_seen", UTCDateTime, nullable=False),
    Column("total", BigInteger, nullable=False, default=0),
    Column("samples", JSON, nullable=False, default=list),
)

hourly_counts = Table(
    "hourly_counts",
    metadata,
    Column("signature", String(32), primary_key=True),
    Column("customer", Text, primary_key=True),
    Column("hour", Integer, primary_key=True),  # epoch seconds // 3600
    Column("count", BigInteger, nullable=False),
    Index("ix_hourly_counts_hour", "hour"),
)

seen_events = Table(
    "seen_events",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),  # 63-bit hash of the source id
    Column("hour", Integer, nullable=False),  # for retention
)

analyses = Table(
    "analyses",
    metadata,
    Column("signature", String(32), primary_key=True),
    Column("analysis_type", String(16), primary_key=True),
    Column("analysis", JSON, nullable=False),
    Column("analyzer", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("prompt", Text, nullable=False, default=""),
)

model_calls = Table(
    "model_calls",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", Integer),
    Column("signature", String(32), nullable=False),
    Column("analysis_type", String(16), nullable=False),
    Column("model", Text, nullable=False),
    Column("input_tokens", Integer, nullable=False, default=0),
    Column("output_tokens", Integer, nullable=False, default=0),
    Column("cost_usd", Float, nullable=False, default=0.0),
    Column("cache_write_tokens", Integer, nullable=False, default=0),
    Column("cache_read_tokens", Integer, nullable=False, default=0),
    Column("usage", JSON, nullable=False, default=dict),  # raw provider usage, so cost can be recomputed
    Column("batch", Boolean, nullable=False, default=False),
    Column("ok", Boolean, nullable=False, default=True),
    Column("error", Text),
    Column("created_at", UTCDateTime, nullable=False),
)

triage_results = Table(
    "triage_results",
    metadata,
    Column("run_id", Integer, primary_key=True),
    Column("signature", String(32), primary_key=True),
    Column("rank", Integer, nullable=False),
    Column("occurrences", BigInteger, nullable=False),
    Column("customers", JSON, nullable=False),
    Column("anomaly", JSON, nullable=False),
    Column("bucket", String(32), nullable=False),
    Column("owner", String(32), nullable=False),
    Column("reason", Text, nullable=False),
    Column("suppressed", Boolean, nullable=False, default=False),
)

noise_rules = Table(
    "noise_rules",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False),  # signature | regex
    Column("value", Text, nullable=False),
    Column("reason", Text, nullable=False, default=""),
    Column("created_at", UTCDateTime, nullable=False),
    Column("created_by", Text, nullable=False, default=""),
)

grouping_state = Table(
    "grouping_state",
    metadata,
    Column("strategy", String(64), primary_key=True),
    Column("state", JSON, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

signature_aliases = Table(
    "signature_aliases",
    metadata,
    Column("alias", String(32), primary_key=True),
    Column("key", String(32), nullable=False),
    Column("reason", Text, nullable=False, default=""),  # generalized | merged
    Column("created_at", UTCDateTime, nullable=False),
)

checkpoints = Table(
    "checkpoints",
    metadata,
    Column("source", Text, primary_key=True),
    Column("watermark", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

# --- 0002: actions from people, model batches, the run lease, notifications, daily rollups -----

owner_overrides = Table(
    "owner_overrides",
    metadata,
    Column("signature", String(32), primary_key=True),
    Column("bucket", String(32), nullable=False),
    Column("owner", String(32), nullable=False),
    Column("reason", Text, nullable=False, default=""),
    Column("created_at", UTCDateTime, nullable=False),
    Column("created_by", Text, nullable=False, default=""),
)

actions = Table(
    "actions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime, nullable=False),
    Column("who", Text, nullable=False, default=""),
    Column("action", String(32), nullable=False),  # noise_add | noise_remove | override | merge | reanalyze | …
    Column("target", Text, nullable=False, default=""),
    Column("reason", Text, nullable=False, default=""),
    Column("details", JSON, nullable=False, default=dict),  # what undo needs
    Column("undone_at", UTCDateTime),
)

analysis_batches = Table(
    "analysis_batches",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("provider", Text, nullable=False),
    Column("batch_id", Text, nullable=False, unique=True),
    Column("status", String(16), nullable=False),  # submitted | collected | failed
    Column("items", JSON, nullable=False, default=dict),  # custom_id -> {signature, analysis_type, prompt}
    Column("submitted_at", UTCDateTime, nullable=False),
    Column("collected_at", UTCDateTime),
    Column("run_id", Integer),
)

leases = Table(
    "leases",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("holder", Text, nullable=False),
    Column("acquired_at", UTCDateTime, nullable=False),
    Column("heartbeat_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
)

notifications = Table(
    "notifications",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("signature", String(32), nullable=False),
    Column("flag", String(16), nullable=False),  # new | spike | spread | noise_escalated
    Column("channel", Text, nullable=False),
    Column("run_id", Integer),
    Column("status", String(16), nullable=False),  # sent | failed
    Column("attempts", Integer, nullable=False, default=1),
    Column("error", Text),
    Column("payload", JSON, nullable=False, default=dict),
    Column("sent_at", UTCDateTime, nullable=False),
    Index("ix_notifications_dedup", "signature", "flag", "channel", "sent_at"),
)

daily_counts = Table(
    "daily_counts",
    metadata,
    Column("signature", String(32), primary_key=True),
    Column("customer", Text, primary_key=True),
    Column("day", Integer, primary_key=True),  # epoch seconds // 86400; rollup kept after hourly pruning
    Column("count", BigInteger, nullable=False),
)

# --- 0003: scheduler workers (presence and next fire time, for the runs page) -------------------

workers = Table(
    "workers",
    metadata,
    Column("id", String(128), primary_key=True),  # the lease holder id: host:pid:random
    Column("host", Text, nullable=False),
    Column("pid", Integer, nullable=False),
    Column("schedule", Text, nullable=False),  # "30m" or a cron expression
    Column("started_at", UTCDateTime, nullable=False),
    Column("seen_at", UTCDateTime, nullable=False),
    Column("next_run_at", UTCDateTime),
)
