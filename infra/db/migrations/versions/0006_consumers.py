"""What consumers of the log keep: what they applied, where they are in Kafka, and the
notifications outbox.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


class Xid8(sa.types.UserDefinedType[int]):
    cache_ok = True

    def get_col_spec(self, **kw: object) -> str:
        return "xid8"


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    timestamp = sa.DateTime(timezone=True)
    op.create_table(
        "consumer_applied",
        sa.Column("consumer", sa.String(100), nullable=False),
        sa.Column("stream_id", sa.Uuid, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("consumer", "stream_id", name="pk_consumer_applied"),
    )
    op.create_table(
        "consumer_offset",
        sa.Column("consumer", sa.String(100), nullable=False),
        sa.Column("topic", sa.String(255), nullable=False),
        sa.Column("partition", sa.Integer, nullable=False),
        sa.Column("next_offset", sa.BigInteger, nullable=False),
        sa.Column("updated_at", timestamp, nullable=False),
        sa.PrimaryKeyConstraint("consumer", "topic", "partition", name="pk_consumer_offset"),
    )
    if postgres:
        # Read like the log: in commit order, never past a transaction still running.
        commit_order = sa.Column(
            "commit_order", Xid8(), nullable=False, server_default=sa.text("pg_current_xact_id()")
        )
        position = sa.Column("position", sa.BigInteger, sa.Identity(always=True), primary_key=True)
    else:
        commit_order = sa.Column("commit_order", sa.BigInteger, nullable=False, server_default="0")
        position = sa.Column("position", sa.Integer, primary_key=True, autoincrement=True)
    op.create_table(
        "notification",
        position,
        commit_order,
        sa.Column("message_id", sa.Uuid, nullable=False),
        sa.Column("image_id", sa.String(64), nullable=False),
        sa.Column("event_type", sa.String(100), nullable=False),
        sa.Column("priority", sa.String(10), nullable=False),
        sa.Column("message", postgresql.JSONB() if postgres else sa.JSON(), nullable=False),
        sa.Column("created_at", timestamp, nullable=False),
        sa.PrimaryKeyConstraint("position", name="pk_notification"),
        sa.UniqueConstraint("message_id", name="uq_notification_message_id"),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "ix_notification_commit_order_position", "notification", ["commit_order", "position"]
    )
    op.create_index("ix_notification_created_at", "notification", ["created_at"])


def downgrade() -> None:
    for table in ("notification", "consumer_offset", "consumer_applied"):
        op.drop_table(table)
