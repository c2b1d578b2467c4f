"""Bring a database's schema up to date with the migrations shipped in this package, or say
where it stands."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Connection

from infra.db.database import Database

MIGRATIONS = Path(__file__).parent / "migrations"
MIGRATION_LOCK_KEY = 0x636174616C6F6701  # "catalog" + 1: any fixed number unique to this use
VERSION_TABLE = "alembic_version"
"""Alembic's one-row table: the revision the schema is at."""


def _config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def _upgrade(connection: Connection, revision: str) -> None:
    if connection.dialect.name == "postgresql":
        # Several servers starting at once on one database would otherwise run the same
        # migrations side by side; the lock lasts until this transaction ends, and whoever
        # waited then finds the schema up to date.
        connection.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": MIGRATION_LOCK_KEY})
    command.upgrade(_config(connection), revision)


async def upgrade(database: Database, revision: str = "head") -> None:
    await database.write(_upgrade, revision)


def head_revision() -> str | None:
    """The revision the newest migration shipped brings a schema to."""
    return ScriptDirectory.from_config(_config()).get_current_head()


def current_revision(connection: Connection) -> str | None:
    """The revision of the database's schema; None where no migration ever ran."""
    if not sa.inspect(connection).has_table(VERSION_TABLE):
        return None
    revision = connection.execute(sa.text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar()
    return None if revision is None else str(revision)
