"""Bringing the schema up to date: idempotent, and safe when several servers start at once."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from bench.event_history import StoredRow, history
from catalog.ports import LOG_START
from catalog.projections.location_holders import location_holder
from catalog.projections.registry import INLINE_PROJECTIONS
from catalog.projections.schema import JsonDocument
from infra.db.database import open_database
from infra.db.event_log import SqlEventLog
from infra.db.migrate import upgrade
from infra.db.notification_outbox import read_notifications
from infra.db.tables import notification
from infra.notifications.oslo_wire import amqp_body, kafka_record
from infra.projection_rebuild import rebuild_projections
from tests.integration.views import store_history


def _revision(conn: sa.Connection) -> str:
    return str(conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar_one())


def _indexes(conn: sa.Connection) -> set[str]:
    # From the catalogs: SQLAlchemy's reflection skips SQLite's expression indexes.
    if conn.dialect.name == "postgresql":
        query = "SELECT indexname FROM pg_indexes WHERE tablename = 'image'"
    else:
        query = "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'image'"
    return set(conn.execute(sa.text(query)).scalars())


async def test_upgrading_twice_changes_nothing(database_url: str) -> None:
    database = open_database(database_url)
    try:
        await upgrade(database)
        before = await database.read(_indexes)
        await upgrade(database)
        assert await database.read(_indexes) == before
        assert "ix_image_sort_name" in before
    finally:
        await database.close()


@pytest.mark.postgres
async def test_servers_starting_together_migrate_one_after_the_other(postgres_url: str) -> None:
    databases = [open_database(postgres_url) for _ in range(4)]
    try:
        # Without the lock they block each other (or collide on the same index).
        await asyncio.wait_for(asyncio.gather(*(upgrade(d) for d in databases)), timeout=60)
        revisions = {await d.read(_revision) for d in databases}
        assert len(revisions) == 1
    finally:
        for d in databases:
            await d.close()


def _cut_short(rows: list[StoredRow]) -> list[StoredRow]:
    """`rows` with a quarter of the images stopped as their last transfer started, as if
    their uploads, stagings and copies were still streaming in."""
    stop: dict[uuid.UUID, int] = {}
    for row in rows:
        if row.event_type in _TRANSFERS and row.stream_id.int % 4 == 0:
            stop[row.stream_id] = row.version  # the last transfer: a copy if there was one
    return [row for row in rows if row.version <= stop.get(row.stream_id, row.version)]


_TRANSFERS = ("image.upload_started", "image.copy_started")


def _holders(conn: sa.Connection) -> set[tuple[object, ...]]:
    return {tuple(row) for row in conn.execute(sa.select(location_holder))}


async def test_the_location_holders_view_starts_from_the_log(database_url: str) -> None:
    """Bytes that images shared before the view existed are known from its first start: the
    migration fills it with the rows a rebuild of the views makes of the same log."""
    database = open_database(database_url)
    try:
        await upgrade(database, "0008")
        await store_history(database, _cut_short(history(1500, seed=13)))
        await upgrade(database)
        migrated = await database.read(_holders)
        assert {held_as for _, _, held_as in migrated} == {"data", "copy", "upload", "staging"}

        await rebuild_projections(SqlEventLog(database, INLINE_PROJECTIONS))
        assert await database.read(_holders) == migrated
    finally:
        await database.close()


_OUTBOX_ROW = sa.text(
    "INSERT INTO notification"
    " (message_id, image_id, event_type, priority, message, created_at)"
    " VALUES (:message_id, 'an-image', 'image.create', 'INFO', '{}', :created_at)"
)


async def test_notifications_waiting_in_the_outbox_keep_their_image_as_their_subject(
    database_url: str,
) -> None:
    database = open_database(database_url)
    try:
        await upgrade(database, "0011")
        message_id = uuid.uuid4()
        await database.write(
            lambda conn: conn.execute(
                _OUTBOX_ROW.bindparams(
                    sa.bindparam("message_id", message_id, type_=notification.c.message_id.type),
                    sa.bindparam(
                        "created_at", datetime.now(UTC), type_=notification.c.created_at.type
                    ),
                )
            )
        )
        await upgrade(database)

        def kept(conn: sa.Connection) -> list[tuple[object, ...]]:
            query = sa.select(notification.c.message_id, notification.c.subject_id)
            return [tuple(row) for row in conn.execute(query)]

        assert await database.read(kept) == [(message_id, "an-image")]
        if database_url.startswith("sqlite"):
            # Renamed in place: positions are still never given twice (AUTOINCREMENT).
            schema = "SELECT sql FROM sqlite_master WHERE name = 'notification'"
            created = await database.read(lambda conn: conn.execute(sa.text(schema)).scalar_one())
            assert "AUTOINCREMENT" in created
    finally:
        await database.close()


async def test_notifications_waiting_in_the_outbox_keep_their_message_as_json_text(
    database_url: str,
) -> None:
    database = open_database(database_url)
    message = {
        "message_id": "8d1c1a52-3d7e-4c1b-9b0e-2f0f7f1d7a10",
        "event_type": "image.create",
        "priority": "INFO",
        "payload": {"id": "an-image", "name": "Ubuntu 24.04 «noble» ✓", "tags": ["a"]},
        "_context": {"request_id": "req-1", "user_name": "José"},
    }
    added = sa.text(
        "INSERT INTO notification"
        " (message_id, subject_id, event_type, priority, message, created_at)"
        " VALUES (:message_id, 'an-image', 'image.create', 'INFO', :message, :created_at)"
    ).bindparams(
        sa.bindparam("message_id", uuid.uuid4(), type_=notification.c.message_id.type),
        # As the column was: JSON, `jsonb` on PostgreSQL.
        sa.bindparam("message", message, type_=JsonDocument),
        sa.bindparam("created_at", datetime.now(UTC), type_=notification.c.created_at.type),
    )
    try:
        await upgrade(database, "0014")
        await database.write(lambda conn: conn.execute(added))
        await upgrade(database)

        waiting = await database.read(read_notifications, LOG_START, 10)
    finally:
        await database.close()

    assert [json.loads(row.message) for row in waiting] == [message]
    # Sent as the publishers send what they read: each wire form carries the same message.
    [row] = waiting
    kafka_message = json.loads(json.loads(kafka_record(row).value)["oslo.message"])
    assert kafka_message == message
    rabbit_message = json.loads(json.loads(amqp_body(row))["oslo.message"])
    assert rabbit_message["payload"] == message["payload"]
    assert rabbit_message["_context_user_name"] == "José"
