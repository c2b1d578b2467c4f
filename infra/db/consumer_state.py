"""What a consumer of the log keeps in the database, beside its effects and in their transaction.

- What it applied: the last version of each stream. An event at or below it is a duplicate (the
  relay delivers at least once; a rebalance may hand a partition over mid-batch) and is skipped.
- Where it is in Kafka: the next offset of each partition. Only ever moved forward, so a consumer
  that lost a partition and finishes a late batch cannot move the new owner back.

(A consumer tailing the log keeps its place as a named checkpoint, `infra/db/checkpoints.py`.)
"""

from __future__ import annotations

import operator
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime

import sqlalchemy as sa

from infra.db.driver import DriverStatement
from infra.db.tables import consumer_applied, consumer_offset

_SAVE_OFFSET = sa.text(
    "INSERT INTO consumer_offset (consumer, topic, partition, next_offset, updated_at)"
    " VALUES (:consumer, :topic, :partition, :next_offset, :updated_at)"
    " ON CONFLICT (consumer, topic, partition) DO UPDATE"
    " SET next_offset = excluded.next_offset, updated_at = excluded.updated_at"
    " WHERE consumer_offset.next_offset < excluded.next_offset"
).bindparams(sa.bindparam("updated_at", type_=consumer_offset.c.updated_at.type))


_MOVE_APPLIED = (
    sa.update(consumer_applied)
    .where(
        consumer_applied.c.consumer == sa.bindparam("c"),
        consumer_applied.c.stream_id == sa.bindparam("s"),
    )
    .values(version=sa.bindparam("v"))
)


_INSERT_APPLIED = sa.insert(consumer_applied)
_APPLIED = sa.select(consumer_applied.c.stream_id, consumer_applied.c.version).where(
    consumer_applied.c.consumer == sa.bindparam("consumer")
)
_APPLIED_VERSIONS = _APPLIED.where(
    consumer_applied.c.stream_id.in_(sa.bindparam("streams", expanding=True))
).with_for_update()
_APPLIED_VERSION_UNLESS_HELD = _APPLIED.where(
    consumer_applied.c.stream_id == sa.bindparam("stream")
).with_for_update(skip_locked=True)
"""One stream's, as an append has: a list of streams costs compiling it again each time."""


# On PostgreSQL a batch's streams go as arrays, in one statement each: the same statement
# whatever the batch's size (a list expanded into parameters is a statement per length), and
# no parameters processed row by row (a consumer catching up records hundreds per batch).
_STREAM_IDS = sa.ARRAY(sa.Uuid)
_VERSIONS = sa.ARRAY(sa.Integer)
# One lookup of the primary key per stream, whatever the planner thinks of the table: asked
# for `stream_id = ANY(:streams)` with a catch-up's hundreds of streams, it scanned the whole
# table and matched every record against the list (a cost that grew with the streams the
# consumer had seen: 12.8 ms per batch on average over a catch-up of 100,000 events). The
# records are locked in the list's order, which `applied_versions` sorts: two processes locking
# the same streams take them in the same order.
_PG_APPLIED_VERSIONS = (
    sa.text(
        "SELECT applied.stream_id, applied.version FROM unnest(:streams) AS asked(stream_id)"
        " CROSS JOIN LATERAL (SELECT stream_id, version FROM consumer_applied"
        " WHERE consumer = :consumer AND stream_id = asked.stream_id FOR UPDATE) AS applied"
    )
    .bindparams(sa.bindparam("streams", type_=_STREAM_IDS))
    .columns(consumer_applied.c.stream_id, consumer_applied.c.version)
)


def _pg_insert_applied(on_conflict: str = "") -> DriverStatement:
    return DriverStatement(
        sa.text(
            "INSERT INTO consumer_applied (consumer, stream_id, version)"
            " SELECT CAST(:consumer AS varchar), stream_id, version"
            " FROM unnest(:streams, :versions) AS applied(stream_id, version)" + on_conflict
        ).bindparams(
            sa.bindparam("streams", type_=_STREAM_IDS), sa.bindparam("versions", type_=_VERSIONS)
        )
    )


# Records already there move by their key: an upsert's conflict with each, never a join. As an
# `UPDATE … FROM unnest(…)` the statement's generic plan, made while the table was empty (a new
# consumer's first batches), hashed every record of the consumer for each batch until the
# table's statistics were next gathered. (The records are locked already: nothing is inserted.)
_PG_MOVE_APPLIED = _pg_insert_applied(
    " ON CONFLICT (consumer, stream_id) DO UPDATE SET version = excluded.version"
)
_PG_INSERT_APPLIED = _pg_insert_applied()
"""New streams' records: a conflict fails the batch (see `record_applied`)."""


_AS_INTEGER = operator.attrgetter("int")
"""A sort key cheaper than the UUIDs' own comparison (a fifth of its time)."""


def in_key_order(stream_ids: Iterable[uuid.UUID]) -> list[uuid.UUID]:
    """`stream_ids` in the order of their records' key (PostgreSQL orders UUIDs by their bytes,
    as Python by their integer)."""
    return sorted(stream_ids, key=_AS_INTEGER)


def applied_versions(
    conn: sa.Connection, consumer: str, stream_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, int]:
    """The last version of each stream `consumer` has applied, locked until the transaction
    ends: a second process applying the same stream meanwhile waits, then sees the new one."""
    query = _PG_APPLIED_VERSIONS if conn.dialect.name == "postgresql" else _APPLIED_VERSIONS
    rows = conn.execute(query, {"consumer": consumer, "streams": in_key_order(stream_ids)})
    return {row.stream_id: row.version for row in rows}


def applied_version_unless_held(
    conn: sa.Connection, consumer: str, stream_id: uuid.UUID
) -> int | None:
    """`applied_versions` of one stream without waiting: None when nothing of it was applied,
    or when another transaction holds its record (PostgreSQL; SQLite's one writer never
    finds one held)."""
    row = conn.execute(
        _APPLIED_VERSION_UNLESS_HELD, {"consumer": consumer, "stream": stream_id}
    ).first()
    return None if row is None else int(row.version)


def record_applied(
    conn: sa.Connection,
    consumer: str,
    applied: Mapping[uuid.UUID, int],
    known: Mapping[uuid.UUID, int],
) -> None:
    """Record the last version applied of each stream; `known` is what `applied_versions` said.

    A stream new to the consumer is inserted: should another process have inserted it
    meanwhile, the insert fails and the whole batch is delivered again, to be skipped then.
    (New streams go in key order: two processes inserting the same ones wait for each other in
    that order, never each for the other.)
    """
    moved = {stream: version for stream, version in applied.items() if stream in known}
    new = {stream: version for stream, version in applied.items() if stream not in known}
    if conn.dialect.name == "postgresql":
        for statement, rows in ((_PG_MOVE_APPLIED, moved), (_PG_INSERT_APPLIED, new)):
            if rows:
                streams = in_key_order(rows)
                versions = [rows[stream] for stream in streams]
                statement.execute_in(
                    conn, {"consumer": consumer, "streams": streams, "versions": versions}
                )
        return
    if moved:
        conn.execute(_MOVE_APPLIED, [{"c": consumer, "s": s, "v": v} for s, v in moved.items()])
    if new:
        conn.execute(
            _INSERT_APPLIED,
            [{"consumer": consumer, "stream_id": s, "version": v} for s, v in new.items()],
        )


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
    places = [
        {
            "consumer": consumer,
            "topic": topic,
            "partition": partition,
            "next_offset": offset,
            "updated_at": now,
        }
        for partition, offset in next_offsets.items()
    ]
    if places:
        conn.execute(_SAVE_OFFSET, places)
