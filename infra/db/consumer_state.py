"""What a consumer of the log keeps in the database, beside its effects and in their transaction.

- What it applied: the last version of each stream. An event at or below it is a duplicate (the
  relay delivers at least once; a rebalance may hand a partition over mid-batch) and is skipped.
- Where it is in Kafka: the next offset of each partition. Only ever moved forward, so a consumer
  that lost a partition and finishes a late batch cannot move the new owner back.

(A consumer tailing the log keeps its place as a named checkpoint, `infra/db/checkpoints.py`.)
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime

import sqlalchemy as sa

from infra.db.tables import consumer_offset

# One statement both decides and records: it writes (and counts a row) only when `version` is
# beyond what the consumer has applied of the stream. PostgreSQL and SQLite share the syntax.
_APPLY_ONCE = sa.text(
    "INSERT INTO consumer_applied (consumer, stream_id, version)"
    " VALUES (:consumer, :stream_id, :version)"
    " ON CONFLICT (consumer, stream_id) DO UPDATE SET version = excluded.version"
    " WHERE consumer_applied.version < excluded.version"
).bindparams(
    sa.bindparam("consumer", type_=sa.String()),
    sa.bindparam("stream_id", type_=sa.Uuid()),
    sa.bindparam("version", type_=sa.Integer()),
)

_SAVE_OFFSET = sa.text(
    "INSERT INTO consumer_offset (consumer, topic, partition, next_offset, updated_at)"
    " VALUES (:consumer, :topic, :partition, :next_offset, :updated_at)"
    " ON CONFLICT (consumer, topic, partition) DO UPDATE"
    " SET next_offset = excluded.next_offset, updated_at = excluded.updated_at"
    " WHERE consumer_offset.next_offset < excluded.next_offset"
).bindparams(sa.bindparam("updated_at", type_=consumer_offset.c.updated_at.type))


def apply_once(conn: sa.Connection, consumer: str, stream_id: uuid.UUID, version: int) -> bool:
    """Record that `consumer` applies (stream, version); False if it already had it (or later)."""
    result = conn.execute(
        _APPLY_ONCE, {"consumer": consumer, "stream_id": stream_id, "version": version}
    )
    return result.rowcount == 1


def load_offsets(conn: sa.Connection, consumer: str, topic: str) -> dict[int, int]:
    """The next offset to read of each partition the consumer has a place in."""
    rows = conn.execute(
        sa.select(consumer_offset.c.partition, consumer_offset.c.next_offset).where(
            consumer_offset.c.consumer == consumer, consumer_offset.c.topic == topic
        )
    )
    return {row.partition: row.next_offset for row in rows}


def save_offsets(
    conn: sa.Connection, consumer: str, topic: str, next_offsets: Mapping[int, int]
) -> None:
    now = datetime.now(UTC)
    for partition, offset in next_offsets.items():
        conn.execute(
            _SAVE_OFFSET,
            {
                "consumer": consumer,
                "topic": topic,
                "partition": partition,
                "next_offset": offset,
                "updated_at": now,
            },
        )
