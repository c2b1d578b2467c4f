"""`catalog.ports.AuditLog` on the SQL log: an image's stream and the downloads of its data.

Downloads are one-event streams of their own, found by the image id inside their data. The
partial index `ix_event_data_sent_image_id` (migration 0008) answers that on both databases:
on `(data ->> 'image_id', position)` in PostgreSQL and `(json_extract(data, '$.image_id'),
position)` in SQLite, for `image.data_sent` rows only. A query uses it only if it repeats the
index's expressions exactly, with the event type as a literal (a bound parameter could not
prove the partial index's condition), so both are written out here as the migration has them.
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from catalog.events import RecordedEvent
from infra.db.event_log import SqlEventLog, recorded_event
from infra.db.tables import event

DATA_SENT = "image.data_sent"
DOWNLOADED_IMAGE = {
    "postgresql": "(data ->> 'image_id')",
    "sqlite": "json_extract(data, '$.image_id')",
}
"""The indexed expression for the image a download was of, per dialect."""

_COLUMNS = [c for c in event.c if c.name != "commit_order"]


def _downloads(dialect: str) -> sa.Select[tuple[object, ...]]:
    return (
        sa.select(*_COLUMNS, sa.literal(0).label("commit_order"))
        .where(
            event.c.event_type == sa.literal_column(f"'{DATA_SENT}'"),
            sa.literal_column(DOWNLOADED_IMAGE[dialect]) == sa.bindparam("image_id", type_=sa.Text),
            event.c.position > sa.bindparam("after", type_=sa.BigInteger),
        )
        .order_by(event.c.position)
        .limit(sa.bindparam("limit", type_=sa.Integer))
    )


# Built once per dialect, so each is compiled once.
DOWNLOADS = {dialect: _downloads(dialect) for dialect in DOWNLOADED_IMAGE}


class SqlAuditLog:
    """`catalog.ports.AuditLog` over the SQL event log."""

    def __init__(self, log: SqlEventLog) -> None:
        self._log = log

    async def load_stream(self, stream_id: uuid.UUID) -> list[RecordedEvent]:
        return await self._log.load_stream(stream_id)

    async def downloads_of(
        self, image_id: uuid.UUID, after_position: int, limit: int
    ) -> list[RecordedEvent]:
        return await self._log.database.read(_downloads_of, image_id, after_position, limit)


def _downloads_of(
    conn: sa.Connection, image_id: uuid.UUID, after: int, limit: int
) -> list[RecordedEvent]:
    statement = DOWNLOADS[conn.dialect.name]
    params = {"image_id": str(image_id), "after": after, "limit": limit}
    return [recorded_event(row) for row in conn.execute(statement, params)]
