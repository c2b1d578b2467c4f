"""The scrubber's schedule: which image pending deletion is due to be scrubbed when.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "scrub_schedule",
        sa.Column("image_id", sa.Uuid, nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("image_id", name="pk_scrub_schedule"),
    )
    op.create_index("ix_scrub_schedule_due_at", "scrub_schedule", ["due_at"])


def downgrade() -> None:
    op.drop_table("scrub_schedule")
