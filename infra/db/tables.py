"""The log's own tables. Their DDL lives in the migrations; these describe them for queries."""

from __future__ import annotations

import sqlalchemy as sa

from catalog.projections.schema import JsonDocument, UtcDateTime, metadata

event = sa.Table(
    "event",
    metadata,
    sa.Column("position", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    # PostgreSQL: xid8 of the appending transaction (see EventLog.read); SQLite: always 0.
    sa.Column("commit_order", sa.BigInteger, nullable=False),
    sa.Column("stream_id", sa.Uuid, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("event_id", sa.Uuid, nullable=False, unique=True),
    sa.Column("event_type", sa.String(100), nullable=False),
    sa.Column("schema_version", sa.Integer, nullable=False),
    sa.Column("data", JsonDocument, nullable=False),
    sa.Column("metadata", JsonDocument, nullable=False),
    sa.Column("occurred_at", UtcDateTime, nullable=False),
    sa.UniqueConstraint("stream_id", "version"),
)

checkpoint = sa.Table(
    "checkpoint",
    metadata,
    sa.Column("name", sa.String(100), primary_key=True),
    sa.Column("commit_order", sa.BigInteger, nullable=False),
    sa.Column("position", sa.BigInteger, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
)

node = sa.Table(
    "node",
    metadata,
    sa.Column("node_id", sa.String(64), primary_key=True),
    sa.Column("started_at", UtcDateTime, nullable=False),
    sa.Column("seen_at", UtcDateTime, nullable=False),
)
"""Operational state, not a view: which processes are alive (see infra/recovery.py)."""
