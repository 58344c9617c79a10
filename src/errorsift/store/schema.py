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
