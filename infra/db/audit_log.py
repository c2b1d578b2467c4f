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

from catalog.commands.repository import ImageRepository
from catalog.events import RecordedEvent
from catalog.image import Image
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
    """`catalog.ports.AuditLog` over the SQL event log, and the images' repository (for their
    snapshots)."""

    def __init__(self, log: SqlEventLog, images: ImageRepository) -> None:
        self._log = log
        self._images = images

    async def load_stream(self, stream_id: uuid.UUID) -> list[RecordedEvent]:
        return await self._log.load_stream(stream_id)

    async def image(self, image_id: uuid.UUID) -> Image:
        return await self._images.load(image_id)

    async def stream_page(
        self, stream_id: uuid.UUID, after_position: int, limit: int
    ) -> list[RecordedEvent]:
        return await self._log.database.read(_stream_page, stream_id, after_position, limit)

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


_VERSION_AT = sa.select(event.c.version).where(
    event.c.position == sa.bindparam("after"), event.c.stream_id == sa.bindparam("s")
)
_VERSION_BEFORE = sa.select(sa.func.max(event.c.version)).where(
    event.c.stream_id == sa.bindparam("s"), event.c.position <= sa.bindparam("after")
)
_PAGE = (
    sa.select(*_COLUMNS, sa.literal(0).label("commit_order"))
    .where(event.c.stream_id == sa.bindparam("s"), event.c.version > sa.bindparam("v"))
    .order_by(event.c.version)
    .limit(sa.bindparam("limit", type_=sa.Integer))
)


def _stream_page(
    conn: sa.Connection, stream_id: uuid.UUID, after: int, limit: int
) -> list[RecordedEvent]:
    """The page after the marker, read by version on the unique (stream, version) index: a
    marker that is one of the stream's events is found by the primary key; one that is not (a
    download's position) by the last version written before it."""
    params = {"s": stream_id, "after": after}
    version = conn.execute(_VERSION_AT, params).scalar() if after else 0
    if version is None:
        version = conn.execute(_VERSION_BEFORE, params).scalar() or 0
    rows = conn.execute(_PAGE, {"s": stream_id, "v": version, "limit": limit})
    return [recorded_event(row) for row in rows]
