"""Reading the log for a replay (the rebuild): every event, lean, in log order or stream by stream.

The same horizon as `SqlEventLog.read` (see `infra/db/event_log.py`), so no event is ever
skipped; but each row comes back as a `ReplayEvent` (its place and the event decoded straight
from the stored JSON text), which is what makes reading a million events cheap.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from catalog.events import ReplayEvent, decode_json
from catalog.ports import LOG_START, LogCursor
from infra.db.database import Database
from infra.db.event_log import PG_HORIZON, pg_log_read
from infra.db.tables import event

_NIL = uuid.UUID(int=0)


@dataclass(frozen=True)
class StreamCursor:
    """A place in the log taken stream by stream: after this stream's event at this version."""

    stream_id: uuid.UUID = _NIL
    version: int = 0


STREAMS_START = StreamCursor()

_COLUMNS = (
    event.c.position,
    sa.column("commit_order", sa.BigInteger),
    event.c.stream_id,
    event.c.version,
    event.c.occurred_at,
    event.c.event_type,
    event.c.schema_version,
    sa.column("data", sa.String),  # the stored JSON text, parsed with the event's validation
)
_PG_SELECT = (
    "position, commit_order::text::bigint AS commit_order, stream_id, version, occurred_at,"
    " event_type, schema_version, data::text AS data"
)
# asyncpg already gives timezone-aware UTC datetimes: no conversion per row (UtcDateTime's).
_PG_COLUMNS = (*_COLUMNS[:4], sa.column("occurred_at", sa.DateTime(timezone=True)), *_COLUMNS[5:])
_PG_AFTER = pg_log_read(_PG_SELECT, _PG_COLUMNS)
_PG_AFTER_HELD = pg_log_read(_PG_SELECT, _PG_COLUMNS, horizon=False)
_PG_HORIZON = sa.text(
    "SELECT commit_order::text::bigint AS commit_order, position FROM event"
    f" WHERE commit_order < {PG_HORIZON}"
    " ORDER BY event.commit_order DESC, event.position DESC LIMIT 1"
)
# Stream by stream up to a horizon, on the index of the (stream_id, version) key.
_PG_STREAMS = (
    sa.text(
        f"SELECT {_PG_SELECT} FROM event"
        " WHERE (stream_id, version) > (:stream_id, :version)"
        " AND (commit_order, position) <= (CAST(:commit_order AS text)::xid8, :position)"
        " ORDER BY event.stream_id, event.version LIMIT :limit"
    )
    .bindparams(sa.bindparam("stream_id", type_=sa.Uuid))
    .columns(*_PG_COLUMNS)
)

# SQLite has one writer: positions commit in order, and the position is the cursor.
_SQLITE_COLUMNS = (*_COLUMNS[:-1], sa.type_coerce(event.c.data, sa.String).label("data"))
_SQLITE_AFTER = (
    sa.select(*_SQLITE_COLUMNS)
    .where(event.c.position > sa.bindparam("position"))
    .order_by(event.c.position)
    .limit(sa.bindparam("limit"))
)
_SQLITE_HORIZON = sa.select(event.c.commit_order, event.c.position).order_by(
    event.c.position.desc()
)
_SQLITE_STREAMS = (
    sa.select(*_SQLITE_COLUMNS)
    .where(
        sa.tuple_(event.c.stream_id, event.c.version)
        > sa.tuple_(sa.bindparam("stream_id", type_=sa.Uuid), sa.bindparam("version")),
        event.c.position <= sa.bindparam("position"),
    )
    .order_by(event.c.stream_id, event.c.version)
    .limit(sa.bindparam("limit"))
)


class ReplayReader:
    """The log of `database`, read for a replay."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self.postgres = database.postgres

    async def after(self, cursor: LogCursor, limit: int) -> list[ReplayEvent]:
        """Up to `limit` events after `cursor`, in log order, up to the horizon (as
        `SqlEventLog.read`)."""
        return await self.database.read(self.after_on, cursor, limit)

    def after_on(
        self, conn: sa.Connection, cursor: LogCursor, limit: int, *, held: bool = False
    ) -> list[ReplayEvent]:
        """`after` on the caller's connection. `held`: without the horizon, which is right only
        while `conn` holds appends (`SqlEventLog.hold_appends`): then every event is committed
        and none can appear before the cursor."""
        if self.postgres:
            params = {"commit_order": str(cursor.commit_order), "position": cursor.position}
            query = _PG_AFTER_HELD if held else _PG_AFTER
            return _replay_events(conn.execute(query, {**params, "limit": limit}))
        params = {"position": cursor.position, "limit": limit}
        return _replay_events(conn.execute(_SQLITE_AFTER, params))

    async def horizon(self) -> LogCursor:
        """The place of the last event a reader may pass now (`LOG_START` if none yet): every
        event up to it has committed and no other can ever appear before it."""
        return await self.database.read(self._horizon)

    def _horizon(self, conn: sa.Connection) -> LogCursor:
        row = conn.execute(_PG_HORIZON if self.postgres else _SQLITE_HORIZON).first()
        return LOG_START if row is None else LogCursor(row.commit_order, row.position)

    async def streams(self, upto: LogCursor, after: StreamCursor, limit: int) -> list[ReplayEvent]:
        """The events up to `upto` (a `horizon`: a set that never changes), stream after
        stream, each in version order, from after `after`. A replay in this order folds each
        stream whole; between streams it does not follow the log's order."""
        return await self.database.read(self._streams, upto, after, limit)

    def _streams(
        self, conn: sa.Connection, upto: LogCursor, after: StreamCursor, limit: int
    ) -> list[ReplayEvent]:
        params = {
            "stream_id": after.stream_id,
            "version": after.version,
            "position": upto.position,
            "limit": limit,
        }
        if self.postgres:
            query = {**params, "commit_order": str(upto.commit_order)}
            return _replay_events(conn.execute(_PG_STREAMS, query))
        return _replay_events(conn.execute(_SQLITE_STREAMS, params))


def _replay_events(rows: sa.Result[Any]) -> list[ReplayEvent]:
    return [
        ReplayEvent(p, c, stream, version, at, decode_json(kind, schema, data))
        for p, c, stream, version, at, kind, schema, data in rows.tuples()
    ]


def whole_streams(events: list[ReplayEvent], limit: int) -> list[ReplayEvent]:
    """`events`, a `streams` read of `limit`, without its last stream's events when that
    stream may go on past them (the read came back full) and is not all there is. A replay
    cut so starts every batch with streams none of whose events it applied yet, save a
    stream longer than a whole batch."""
    if len(events) < limit or events[0].stream_id == events[-1].stream_id:
        return events
    end, last = len(events), events[-1].stream_id
    while events[end - 1].stream_id == last:
        end -= 1
    return events[:end]


def stream_cursor_after(events: Sequence[ReplayEvent], current: StreamCursor) -> StreamCursor:
    """The stream cursor just past the last of `events` (or `current` if there are none)."""
    return StreamCursor(events[-1].stream_id, events[-1].version) if events else current
