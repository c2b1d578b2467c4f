"""The event log, checkpoints, and the images view with its tags and members.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


class Xid8(sa.types.UserDefinedType[int]):
    cache_ok = True

    def get_col_spec(self, **kw: object) -> str:
        return "xid8"


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    json = postgresql.JSONB() if postgres else sa.JSON()
    timestamp = sa.DateTime(timezone=True)
    if postgres:
        # The appending transaction's id: readers only pass rows whose transaction is older than
        # every transaction still running, so an event can never commit behind a reader.
        commit_order = sa.Column(
            "commit_order", Xid8(), nullable=False, server_default=sa.text("pg_current_xact_id()")
        )
        position = sa.Column("position", sa.BigInteger, sa.Identity(always=True), primary_key=True)
    else:
        commit_order = sa.Column("commit_order", sa.BigInteger, nullable=False, server_default="0")
        position = sa.Column("position", sa.Integer, primary_key=True, autoincrement=True)
    op.create_table(
        "event",
        position,
        commit_order,
        sa.Column("stream_id", sa.Uuid, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("event_id", sa.Uuid, nullable=False),
        sa.Column("event_type", sa.String(100), nullable=False),
        sa.Column("schema_version", sa.Integer, nullable=False),
        sa.Column("data", json, nullable=False),
        sa.Column("metadata", json, nullable=False),
        sa.Column("occurred_at", timestamp, nullable=False),
        sa.PrimaryKeyConstraint("position", name="pk_event"),
        sa.UniqueConstraint("stream_id", "version", name="uq_event_stream_id_version"),
        sa.UniqueConstraint("event_id", name="uq_event_event_id"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_event_commit_order_position", "event", ["commit_order", "position"])
    op.create_table(
        "checkpoint",
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("commit_order", sa.BigInteger, nullable=False),
        sa.Column("position", sa.BigInteger, nullable=False),
        sa.Column("updated_at", timestamp, nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_checkpoint"),
    )
    op.create_table(
        "image",
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("name", sa.String(255)),
        sa.Column("status", sa.String(30), nullable=False),
        sa.Column("visibility", sa.String(30), nullable=False),
        sa.Column("protected", sa.Boolean, nullable=False),
        sa.Column("os_hidden", sa.Boolean, nullable=False),
        sa.Column("owner", sa.String(255)),
        sa.Column("disk_format", sa.String(30)),
        sa.Column("container_format", sa.String(30)),
        sa.Column("size", sa.BigInteger),
        sa.Column("virtual_size", sa.BigInteger),
        sa.Column("checksum", sa.String(32)),
        sa.Column("os_hash_algo", sa.String(64)),
        sa.Column("os_hash_value", sa.String(128)),
        sa.Column("min_ram", sa.Integer, nullable=False),
        sa.Column("min_disk", sa.Integer, nullable=False),
        sa.Column("properties", json, nullable=False),
        sa.Column("locations", json, nullable=False),
        sa.Column("created_at", timestamp, nullable=False),
        sa.Column("updated_at", timestamp, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_image"),
    )
    op.create_index("ix_image_created_at_id", "image", ["created_at", "id"])
    op.create_index("ix_image_owner", "image", ["owner"])
    op.create_table(
        "image_tag",
        sa.Column("image_id", sa.Uuid, nullable=False),
        sa.Column("tag", sa.String(255), nullable=False),
        sa.PrimaryKeyConstraint("image_id", "tag", name="pk_image_tag"),
    )
    op.create_table(
        "image_member",
        sa.Column("image_id", sa.Uuid, nullable=False),
        sa.Column("member", sa.String(255), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("created_at", timestamp, nullable=False),
        sa.Column("updated_at", timestamp, nullable=False),
        sa.PrimaryKeyConstraint("image_id", "member", name="pk_image_member"),
    )
    op.create_index("ix_image_member_member_status", "image_member", ["member", "status"])


def downgrade() -> None:
    for table in ("image_member", "image_tag", "image", "checkpoint", "event"):
        op.drop_table(table)
