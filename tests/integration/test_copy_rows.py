"""COPY (`copy_rows`, the rebuild's way to add rows on PostgreSQL) stores exactly what an INSERT
(`insert_rows`) stores, JSON documents and their nulls, times in any zone, in the caller's
transaction."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
import sqlalchemy as sa

from catalog.projections.base import RowInserter, insert_rows
from catalog.projections.images import image
from catalog.projections.tasks import task
from infra.db.copy_rows import copy_rows
from infra.db.database import Database, open_database
from infra.db.migrate import upgrade

pytestmark = pytest.mark.postgres

AT = datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=timezone(timedelta(hours=5)))


@pytest.fixture
async def database(postgres_url: str) -> AsyncIterator[Database]:
    database = open_database(postgres_url)
    await upgrade(database)
    yield database
    await database.close()


IMAGE: dict[str, Any] = {
    "name": "ünïcode 'quoted' \\ name",
    "status": "active",
    "visibility": "shared",
    "protected": True,
    "os_hidden": False,
    "owner": None,
    "disk_format": "qcow2",
    "container_format": "bare",
    "size": 2**40,
    "virtual_size": None,
    "reserved_bytes": 0,
    "copies_in_progress": 1,
    "checksum": "0" * 32,
    "os_hash_algo": "sha512",
    "os_hash_value": "f" * 128,
    "min_ram": 512,
    "min_disk": 0,
    "properties": {"os_distro": "debian", "empty": "", "nested": '{"not": "json"}'},
    "locations": [{"url": "file:///images/x", "store": "fast"}],
    "created_at": AT,
    "updated_at": AT.astimezone(UTC),
    "version": 3,
}
"""An image view row: a value for every column but the key."""

TASK: dict[str, Any] = {
    "type": "import",
    "status": "pending",
    "owner": "project-1",
    "image_id": None,
    "user_id": "user-1",
    "request_id": None,
    "input": {"import_req": {"method": {"name": "web-download"}}},
    "result": None,  # a JSON column's None, which an INSERT stores as JSON null
    "message": "",
    "expires_at": None,
    "created_at": AT,
    "updated_at": AT,
    "version": 1,
}
"""A task row: a value for every column but the key."""


def new_row(columns: Mapping[str, Any], **values: Any) -> dict[str, Any]:
    """A row of `columns` under a key of its own, `values` in place of some of them."""
    return {"id": uuid.uuid4(), **columns, **values}


def stored(conn: sa.Connection, table: sa.Table, ids: list[uuid.UUID]) -> list[dict[str, Any]]:
    """The rows as stored, JSON documents as the server's text of them (JSON null apart from
    SQL NULL), by the order of `ids`."""
    columns = [
        sa.cast(c, sa.Text).label(c.name) if isinstance(c.type, sa.JSON) else c for c in table.c
    ]
    rows = {r.id: r._asdict() for r in conn.execute(sa.select(*columns))}
    return [rows[i] for i in ids]


async def added_by(
    database: Database, insert: RowInserter, table: sa.Table, rows: list[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    await database.write(insert, table, rows)
    found = await database.read(stored, table, [r["id"] for r in rows])
    await database.write(lambda conn: conn.execute(sa.delete(table)))
    return [{k: v for k, v in row.items() if k != "id"} for row in found]


@pytest.mark.parametrize(
    ("table", "rows"),
    [
        (image, [new_row(IMAGE), new_row(IMAGE, properties={}, locations=[], name=None)]),
        (task, [new_row(TASK), new_row(TASK, result={"image_id": "x"}, image_id=uuid.uuid4())]),
    ],
    ids=["image", "task"],
)
async def test_copy_stores_what_an_insert_stores(
    database: Database, table: sa.Table, rows: list[Mapping[str, Any]]
) -> None:
    by_insert = await added_by(database, insert_rows, table, rows)
    by_copy = await added_by(database, copy_rows, table, rows)

    assert by_copy == by_insert
    assert by_copy[0]["created_at"] == AT


async def test_copy_is_part_of_the_callers_transaction(database: Database) -> None:
    """Even as the transaction's first statement: a failure after it takes the rows back."""

    def copy_then_fail(conn: sa.Connection) -> None:
        copy_rows(conn, task, [new_row(TASK)])
        raise RuntimeError("after the copy")

    with pytest.raises(RuntimeError):
        await database.write(copy_then_fail)

    count = sa.select(sa.func.count()).select_from(task)
    assert await database.read(lambda conn: conn.execute(count).scalar_one()) == 0
