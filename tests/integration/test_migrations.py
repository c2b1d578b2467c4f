"""Bringing the schema up to date: idempotent, and safe when several servers start at once."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa

from infra.db.database import open_database
from infra.db.migrate import upgrade


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
