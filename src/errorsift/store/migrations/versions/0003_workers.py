"""Scheduler workers: who is running the schedule, when each was last seen and when it fires next.

The runs page must show the next scheduled run even when the schedule runs in another process
(`errorsift worker` beside `errorsift serve`), so each worker writes its presence here.

Revision ID: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "workers",
        sa.Column("id", sa.String(128), primary_key=True),
        sa.Column("host", sa.Text(), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("schedule", sa.Text(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("seen_at", sa.DateTime(), nullable=False),
        sa.Column("next_run_at", sa.DateTime()),
    )


def downgrade() -> None:
    op.drop_table("workers")
