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

consumer_applied = sa.Table(
    "consumer_applied",
    metadata,
    sa.Column("consumer", sa.String(100), primary_key=True),
    sa.Column("stream_id", sa.Uuid, primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
)
"""The last version of each stream a consumer has applied: what it skips when it comes again."""

consumer_fold = sa.Table(
    "consumer_fold",
    metadata,
    sa.Column("consumer", sa.String(100), primary_key=True),
    sa.Column("stream_id", sa.Uuid, primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    sa.Column("state", sa.Text, nullable=False),
)
"""A consumer's fold of a stream at a version (infra/db/consumer_folds.py): derived data, kept
for the streams it pushed out of memory, read instead of their histories when made by the code
running now (`fingerprint`)."""

consumer_offset = sa.Table(
    "consumer_offset",
    metadata,
    sa.Column("consumer", sa.String(100), primary_key=True),
    sa.Column("topic", sa.String(255), primary_key=True),
    sa.Column("partition", sa.Integer, primary_key=True),
    sa.Column("next_offset", sa.BigInteger, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
)
"""Where a Kafka-fed consumer is in each partition, written with its effects."""

notification = sa.Table(
    "notification",
    metadata,
    sa.Column("position", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    # As in `event`: the inserting transaction's id on PostgreSQL, for a reader that never skips.
    sa.Column("commit_order", sa.BigInteger, nullable=False),
    sa.Column("message_id", sa.Uuid, nullable=False, unique=True),
    # What the notification is about (an image, a task, a namespace): its notifications keep
    # their order (the key of Kafka's records).
    sa.Column("subject_id", sa.String(64), nullable=False),
    sa.Column("event_type", sa.String(100), nullable=False),
    sa.Column("priority", sa.String(10), nullable=False),
    # The message as the JSON text it was made as: sent as read, never looked into. (SQLite's
    # column is still declared JSON, from before migration 0015: it holds the same text.)
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
)
"""The notifications outbox: written by the notifications consumer, published to Kafka."""

scrub_schedule = sa.Table(
    "scrub_schedule",
    metadata,
    sa.Column("image_id", sa.Uuid, primary_key=True),
    sa.Column("due_at", UtcDateTime, nullable=False, index=True),
)
"""Images pending deletion and when each is due to be scrubbed (infra/consumers/scrubber.py)."""

rebuild_progress = sa.Table(
    "rebuild_progress",
    metadata,
    sa.Column("name", sa.String(100), primary_key=True),
    sa.Column("phase", sa.String(200), nullable=False),
    sa.Column("replayed", sa.BigInteger, nullable=False),
    sa.Column("total", sa.BigInteger, nullable=False),
    sa.Column("started_at", UtcDateTime, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    sa.Column("finished_at", UtcDateTime, nullable=True),
)
"""The last rebuild of the views (`catalog projections rebuild`): its phase and events replayed,
written by the rebuilding process, read by the server's metrics (infra/rebuild_progress.py)."""

snapshot = sa.Table(
    "snapshot",
    metadata,
    sa.Column("stream_id", sa.Uuid, primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("occurred_at", UtcDateTime, nullable=False),
    sa.Column("kind", sa.String(100), nullable=False),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    sa.Column("state", sa.Text, nullable=False),
)
"""Aggregates' states at versions of their streams (catalog/snapshots.py): derived data, read
instead of the events up to that version when made by the code running now (`fingerprint`)."""
