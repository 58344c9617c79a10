"""Owner overrides, the action audit log, model batches, the run lease, notifications, daily rollups,
and raw usage / cache tokens on model calls.

Revision ID: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("model_calls") as batch:
        batch.add_column(sa.Column("cache_write_tokens", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("cache_read_tokens", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("usage", sa.JSON(), nullable=False, server_default="{}"))
        batch.add_column(sa.Column("batch", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_table(
        "owner_overrides",
        sa.Column("signature", sa.String(32), primary_key=True),
        sa.Column("bucket", sa.String(32), nullable=False),
        sa.Column("owner", sa.String(32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.Text(), nullable=False),
    )
    op.create_table(
        "actions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("who", sa.Text(), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("target", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("undone_at", sa.DateTime()),
    )
    op.create_table(
        "analysis_batches",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("provider", sa.Text(), nullable=False),
        sa.Column("batch_id", sa.Text(), nullable=False, unique=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("submitted_at", sa.DateTime(), nullable=False),
        sa.Column("collected_at", sa.DateTime()),
        sa.Column("run_id", sa.Integer()),
    )
    op.create_table(
        "leases",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("holder", sa.Text(), nullable=False),
        sa.Column("acquired_at", sa.DateTime(), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("signature", sa.String(32), nullable=False),
        sa.Column("flag", sa.String(16), nullable=False),
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column("run_id", sa.Integer()),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text()),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_notifications_dedup", "notifications", ["signature", "flag", "channel", "sent_at"])
    op.create_table(
        "daily_counts",
        sa.Column("signature", sa.String(32), primary_key=True),
        sa.Column("customer", sa.Text(), primary_key=True),
        sa.Column("day", sa.Integer(), primary_key=True),
        sa.Column("count", sa.BigInteger(), nullable=False),
    )


def downgrade() -> None:
    for table in ("daily_counts", "notifications", "leases", "analysis_batches", "actions", "owner_overrides"):
        op.drop_table(table)
    with op.batch_alter_table("model_calls") as batch:
        for column in ("batch", "usage", "cache_read_tokens", "cache_write_tokens"):
            batch.drop_column(column)
