"""The tasks view: one row per task (imports, location imports, the tasks API's imports).

Empty at first: no task was recorded before this version.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    json = postgresql.JSONB() if postgres else sa.JSON()
    timestamp = sa.DateTime(timezone=True)
    op.create_table(
        "task",
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("type", sa.String(30), nullable=False),
        sa.Column("status", sa.String(30), nullable=False),
        sa.Column("owner", sa.String(255)),
        sa.Column("image_id", sa.Uuid),
        sa.Column("user_id", sa.String(255)),
        sa.Column("request_id", sa.String(255)),
        sa.Column("input", json, nullable=False),
        sa.Column("result", json),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("expires_at", timestamp),
        sa.Column("created_at", timestamp, nullable=False),
        sa.Column("updated_at", timestamp, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_task"),
    )
    op.create_index("ix_task_created_at_id", "task", ["created_at", "id"])
    op.create_index("ix_task_image_id", "task", ["image_id"])
    op.create_index("ix_task_status", "task", ["status"])
    op.create_index("ix_task_expires_at", "task", ["expires_at"])


def downgrade() -> None:
    op.drop_table("task")
