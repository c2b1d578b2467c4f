"""Rebuilding the views from the log gives exactly the rows the inline projections wrote."""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest
import sqlalchemy as sa

from catalog.commands.repository import ImageRepository
from catalog.events import EventMetadata, ImageCreated, ImageUploaded
from catalog.identity import Actor
from catalog.image import Image
from catalog.image_patch import PatchOperation
from catalog.projections.registry import INLINE_PROJECTIONS
from infra.db.checkpoints import load_checkpoint
from infra.db.database import open_database
from infra.db.event_log import SqlEventLog
from infra.db.migrate import upgrade
from infra.projection_rebuild import rebuild_projections

META = EventMetadata(actor=Actor(user_id="u", project_id="p", roles=("member",)))


@pytest.fixture
async def log(database_url: str) -> AsyncIterator[SqlEventLog]:
    database = open_database(database_url)
    await upgrade(database)
    yield SqlEventLog(database, INLINE_PROJECTIONS)
    await database.close()


async def populate(log: SqlEventLog) -> None:
    """Images in every state the commands can leave them in."""
    images = ImageRepository(log)
    for n in range(12):
        await one_image(images, n)


async def one_image(images: ImageRepository, n: int) -> None:
    now = datetime.now(UTC)
    created = ImageCreated(
        name=f"img-{n}",
        disk_format="qcow2",
        container_format="bare",
        owner=f"p{n % 3}",
        tags=("a", f"t{n}"),
        properties={"os_distro": "debian", "n": str(n)},
    )
    image = Image.create(uuid.uuid4(), created, now)
    await images.save(image, META)
    if n % 4 == 0:
        return
    location = f"file:///d/{image.id}"
    await images.change(
        image.id,
        META,
        lambda i: i.start_upload(store="file", location=location, expected_size=None, now=now),
    )
    if n % 4 == 1:
        await images.change(image.id, META, lambda i: i.fail_upload("gone", now))
        return
    done = ImageUploaded(
        store="file",
        location=location,
        size=n,
        checksum="0" * 32,
        os_hash_algo="sha512",
        os_hash_value="1" * 128,
    )
    await images.change(image.id, META, lambda i: i.complete_upload(done, now))
    if n % 4 == 3:
        await images.change(image.id, META, lambda i: i.delete(now))
        return
    await images.change(image.id, META, lambda i: i.add_tag("extra", 128, now))
    changes = [
        PatchOperation(op="replace", name="name", value=f"renamed-{n}"),
        PatchOperation(op="remove", name="n"),
        PatchOperation(op="add", name="os_version", value="12"),
        PatchOperation(op="replace", name="tags", value=["x", "a"]),
    ]
    await images.change(
        image.id, META, lambda i: i.update(changes, tag_quota=9, property_quota=9, now=now)
    )
    await images.change(image.id, META, lambda i: i.remove_tag("a", now))
    if n % 8 == 2:
        await images.change(image.id, META, lambda i: i.deactivate(now))
    await images.change(image.id, META, lambda i: i.add_member("p-x", 9, now))
    await images.change(image.id, META, lambda i: i.add_member("p-y", 9, now))
    await images.change(image.id, META, lambda i: i.change_member_status("p-x", "accepted", now))
    await images.change(image.id, META, lambda i: i.remove_member("p-y", now))


def _snapshot(conn: sa.Connection, log: SqlEventLog) -> dict[str, list[tuple[Any, ...]]]:
    tables: dict[str, list[tuple[Any, ...]]] = {}
    for projection in log.projections:
        for table in projection.tables:
            rows = conn.execute(sa.select(table))
            tables[table.name] = sorted(tuple(map(repr, row)) for row in rows)
    return tables


async def snapshot(log: SqlEventLog) -> dict[str, list[tuple[Any, ...]]]:
    return await log.database.read(_snapshot, log)


async def test_rebuilt_views_equal_the_inline_ones(log: SqlEventLog) -> None:
    await populate(log)
    inline = await snapshot(log)
    assert len(inline["image"]) == 9
    assert inline["image_tag"]

    replayed = (await rebuild_projections(log)).events

    assert replayed > 12
    assert await snapshot(log) == inline
    assert (await log.database.read(load_checkpoint, "images")).position > 0


def _empty(conn: sa.Connection, tables: tuple[sa.Table, ...]) -> None:
    for table in tables:
        conn.execute(sa.delete(table))


async def test_the_rebuild_command_replays_the_log(log: SqlEventLog, database_url: str) -> None:
    await populate(log)
    inline = await snapshot(log)
    await log.database.write(_empty, INLINE_PROJECTIONS[0].tables)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "infra.cli",
        "projections",
        "rebuild",
        env={**os.environ, "CATALOG_DATABASE_URL": database_url},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    assert process.returncode == 0, output.decode()
    assert b"rebuilt the views from" in output
    assert await snapshot(log) == inline


@pytest.mark.postgres
async def test_a_transaction_in_flight_elsewhere_delays_the_rebuild_but_does_not_cut_it(
    postgres_url: str,
) -> None:
    """The log's reader stops short of any running transaction on the server, even one in
    another database; the rebuild must wait for it rather than take the pause for the end."""
    database = open_database(postgres_url)
    await upgrade(database)
    log = SqlEventLog(database, INLINE_PROJECTIONS)
    blocker = await asyncpg.connect(postgres_url.rsplit("/", 1)[0] + "/postgres")
    try:
        holding = blocker.transaction()
        await holding.start()
        await blocker.fetchval("SELECT pg_current_xact_id()")  # takes a transaction id
        await populate(log)  # every event commits after the blocker began: none readable yet
        inline = await snapshot(log)
        rebuild = asyncio.create_task(rebuild_projections(log))
        await asyncio.sleep(0.3)  # the rebuild reads meanwhile, and finds nothing readable
        await holding.commit()
        assert (await asyncio.wait_for(rebuild, timeout=30)).events > 12
        assert await snapshot(log) == inline
    finally:
        await blocker.close()
        await database.close()
