"""The log read for publishing: rows as the wire needs them, each event's data left as JSON text.

The relay sends every event once more than anything else reads it; decoding each event's data
into Python objects only to encode it again would cost it most of its time. Same order and
same never-skip rule as `SqlEventLog.read`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from catalog.ports import LogCursor
from catalog.projections.schema import UtcDateTime
from infra.db.event_log import PG_ALL_SEEN, PG_HORIZON, made_with_all_seen, rows_after

_FIELDS = (
    "position, stream_id, version, event_id, event_type, schema_version, occurred_at,"
    " CAST(data AS text) AS data_json"
)
_COLUMNS = (  # in the order of the SELECTs below: text columns are matched by position
    sa.column("position", sa.BigInteger),
    sa.column("stream_id", sa.Uuid),
    sa.column("version", sa.Integer),
    sa.column("event_id", sa.Uuid),
    sa.column("event_type", sa.String),
    sa.column("schema_version", sa.Integer),
    sa.column("occurred_at", UtcDateTime),
    sa.column("data_json", sa.String),
    sa.column("commit_order", sa.BigInteger),
    sa.column("request_id", sa.String),
    sa.column("global_request_id", sa.String),
    sa.column("user_id", sa.String),
    sa.column("project_id", sa.String),
    sa.column("roles_json", sa.String),
    sa.column("all_seen", sa.Boolean),
)

_PG_READ = sa.text(
    f"SELECT {_FIELDS}, commit_order::text::bigint AS commit_order,"
    " metadata->>'request_id' AS request_id,"
    " metadata->>'global_request_id' AS global_request_id,"
    " metadata->'actor'->>'user_id' AS user_id,"
    " metadata->'actor'->>'project_id' AS project_id,"
    " CAST(metadata->'actor'->'roles' AS text) AS roles_json,"
    f" {PG_ALL_SEEN} FROM event"
    " WHERE (commit_order, position) > (CAST(:commit_order AS text)::xid8, :position)"
    f" AND commit_order < {PG_HORIZON}"
    # The table's columns, not the output's `commit_order` (a cast): only those follow the
    # index, so a read costs its batch and not a sort of everything after the cursor.
    " ORDER BY event.commit_order, event.position LIMIT :limit"
).columns(*_COLUMNS)

_SQLITE_READ = sa.text(
    f"SELECT {_FIELDS}, commit_order, json_extract(metadata, '$.request_id') AS request_id,"
    " json_extract(metadata, '$.global_request_id') AS global_request_id,"
    " json_extract(metadata, '$.actor.user_id') AS user_id,"
    " json_extract(metadata, '$.actor.project_id') AS project_id,"
    " json_extract(metadata, '$.actor.roles') AS roles_json,"
    " 0 AS all_seen FROM event"  # SQLite: a relay never waits on a read alone
    " WHERE position > :position ORDER BY position LIMIT :limit"
).columns(*_COLUMNS)


@dataclass(frozen=True)
class ExportedEvent:
    position: int
    commit_order: int
    stream_id: uuid.UUID
    version: int
    event_id: uuid.UUID
    event_type: str
    schema_version: int
    occurred_at: datetime
    data_json: str
    request_id: str | None
    global_request_id: str | None
    user_id: str | None
    project_id: str | None
    roles_json: str | None


def read_for_export(
    conn: sa.Connection, after: LogCursor, limit: int
) -> tuple[list[ExportedEvent], bool]:
    """The events after `after` (at most `limit`), with whether the read saw every commit
    there was (`PG_ALL_SEEN`; never on SQLite)."""
    return made_with_all_seen(
        rows_after(conn, (_PG_READ, _SQLITE_READ), after, limit), ExportedEvent
    )
