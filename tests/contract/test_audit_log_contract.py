"""The AuditLog port's contract, on SQLite and on the real PostgreSQL: the downloads of an image,
found by the image id in their data, through the index made for it."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from catalog.commands.repository import ImageRepository
from catalog.events import EventMetadata, ImageCreated, ImageDataSent, ImageTagAdded, NewEvent
from catalog.identity import Actor
from infra.db.audit_log import DOWNLOADS, SqlAuditLog
from infra.db.database import open_database
from infra.db.event_log import SqlEventLog
from infra.db.migrate import upgrade

READER = EventMetadata(actor=Actor(user_id="u2", project_id="p2", roles=("member",)))


@pytest.fixture
async def logs(database_url: str) -> AsyncIterator[tuple[SqlEventLog, SqlAuditLog]]:
    database = open_database(database_url)
    await upgrade(database)
    log = SqlEventLog(database)
    yield log, SqlAuditLog(log, ImageRepository(log))
    await database.close()


async def download(log: SqlEventLog, image_id: uuid.UUID, size: int) -> None:
    sent = ImageDataSent(
        image_id=str(image_id), owner="p1", bytes_sent=size, requested=size, store="file"
    )
    now = datetime.now(UTC)
    await log.append(uuid.uuid4(), 0, [NewEvent(event=sent, occurred_at=now)], READER)


async def test_an_images_downloads_come_in_log_order_and_page_by_position(
    logs: tuple[SqlEventLog, SqlAuditLog],
) -> None:
    log, audit = logs
    image, other = uuid.uuid4(), uuid.uuid4()
    created = NewEvent(event=ImageCreated(), occurred_at=datetime.now(UTC))
    await log.append(image, 0, [created], READER)
    for size in (1, 2, 3):
        await download(log, image, size)
        await download(log, other, 100 + size)
    found = await audit.downloads_of(image, 0, 10)
    assert [e.data["bytes_sent"] for e in found] == [1, 2, 3]
    assert {e.event_type for e in found} == {"image.data_sent"}
    assert found[0].metadata == READER
    first, rest = (
        await audit.downloads_of(image, 0, 1),
        await audit.downloads_of(image, found[0].position, 10),
    )
    assert first == found[:1]
    assert rest == found[1:]
    assert await audit.downloads_of(uuid.uuid4(), 0, 10) == []


async def test_a_streams_page_starts_after_any_marker_its_own_event_or_a_download(
    logs: tuple[SqlEventLog, SqlAuditLog],
) -> None:
    log, audit = logs
    image = uuid.uuid4()
    now = datetime.now(UTC)
    await log.append(image, 0, [NewEvent(event=ImageCreated(), occurred_at=now)], READER)
    for version in range(1, 5):
        await download(log, image, version)  # a position between two of the image's events
        tagged = NewEvent(event=ImageTagAdded(tag=f"t{version}"), occurred_at=now)
        await log.append(image, version, [tagged], READER)
    whole = await log.load_stream(image)
    downloads = await audit.downloads_of(image, 0, 10)
    for marker in [0, *(e.position for e in whole), *(d.position for d in downloads)]:
        expected = [e for e in whole if e.position > marker]
        assert await audit.stream_page(image, marker, 2) == expected[:2]
        assert await audit.stream_page(image, marker, 10) == expected


def _plan(conn: sa.Connection) -> str:
    statement = DOWNLOADS[conn.dialect.name].params(image_id=str(uuid.uuid4()), after=0, limit=10)
    sql = statement.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True})
    if conn.dialect.name == "postgresql":
        # The table is tiny: without this the planner would rightly read it whole.
        conn.execute(sa.text("SET enable_seqscan = off"))
        explain = f"EXPLAIN {sql}"
    else:
        explain = f"EXPLAIN QUERY PLAN {sql}"
    return "\n".join(str(row[-1]) for row in conn.execute(sa.text(explain), {}))


async def test_finding_an_images_downloads_uses_the_index(
    logs: tuple[SqlEventLog, SqlAuditLog],
) -> None:
    log, _ = logs
    await download(log, uuid.uuid4(), 1)
    plan = await log.database.write(_plan)
    assert "ix_event_data_sent_image_id" in plan, plan
