"""Initial schema: runs, signatures, hourly counts, seen events, analyses, model calls, triage,
known noise, grouping state, signature aliases and source checkpoints.

Revision ID: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "analyses",
        sa.Column("signature", sa.String(32), primary_key=True),
        sa.Column("analysis_type", sa.String(16), primary_key=True),
        sa.Column("analysis", sa.JSON(), nullable=False),
        sa.Column("analyzer", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("prompt", sa.Text(), nullable=False),
    )
    op.create_table(
        "checkpoints",
        sa.Column("source", sa.Text(), primary_key=True),
        sa.Column("watermark", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "grouping_state",
        sa.Column("strategy", sa.String(64), primary_key=True),
        sa.Column("state", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "hourly_counts",
        sa.Column("signature", sa.String(32), primary_key=True),
        sa.Column("customer", sa.Text(), primary_key=True),
        sa.Column("hour", sa.Integer(), primary_key=True),
        sa.Column("count", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_hourly_counts_hour", "hourly_counts", ["hour"])
    op.create_table(
        "model_calls",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("run_id", sa.Integer()),
        sa.Column("signature", sa.String(32), nullable=False),
        sa.Column("analysis_type", sa.String(16), nullable=False),
        sa.Column("model", sa.Text(), nullable=False),
        sa.Column("input_tokens", sa.Integer(), nullable=False),
        sa.Column("output_tokens", sa.Integer(), nullable=False),
        sa.Column("cost_usd", sa.Float(), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("error", sa.Text()),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "noise_rules",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.Text(), nullable=False),
    )
    op.create_table(
        "runs",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime()),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("report", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text()),
    )
    op.create_table(
        "seen_events",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("hour", sa.Integer(), nullable=False),
    )
    op.create_table(
        "signature_aliases",
        sa.Column("alias", sa.String(32), primary_key=True),
        sa.Column("key", sa.String(32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "signatures",
        sa.Column("key", sa.String(32), primary_key=True),
        sa.Column("normalized", sa.Text(), nullable=False),
        sa.Column("template", sa.Text(), nullable=False),
        sa.Column("error_type", sa.Text(), nullable=False),
        sa.Column("service", sa.Text(), nullable=False),
        sa.Column("strategy", sa.String(64), nullable=False),
        sa.Column("first_seen", sa.DateTime(), nullable=False),
        sa.Column("last_seen", sa.DateTime(), nullable=False),
        sa.Column("total", sa.BigInteger(), nullable=False),
        sa.Column("samples", sa.JSON(), nullable=False),
    )
    op.create_table(
        "triage_results",
        sa.Column("run_id", sa.Integer(), primary_key=True),
        sa.Column("signature", sa.String(32), primary_key=True),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("occurrences", sa.BigInteger(), nullable=False),
        sa.Column("customers", sa.JSON(), nullable=False),
        sa.Column("anomaly", sa.JSON(), nullable=False),
        sa.Column("bucket", sa.String(32), nullable=False),
        sa.Column("owner", sa.String(32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("suppressed", sa.Boolean(), nullable=False),
    )


def downgrade() -> None:
    for table in (
        "triage_results",
        "signatures",
        "signature_aliases",
        "seen_events",
        "runs",
        "noise_rules",
        "model_calls",
        "hourly_counts",
        "grouping_state",
        "checkpoints",
        "analyses",
    ):
        op.drop_table(table)
