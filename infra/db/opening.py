"""Opening the catalog's database at start: reached first, then its schema brought up to date
(commands that write) or found up to date (commands that only read, which never create a
database). What stands in the way is an `OperatorError`: one line naming the database."""

from __future__ import annotations

import asyncio
from pathlib import Path

from infra.db.database import Database, Pool, open_database, sqlite_path
from infra.db.migrate import current_revision, head_revision, upgrade
from infra.operator_errors import OperatorError, in_words


class DatabaseUnreachable(OperatorError):
    """The database could not be opened, or does not hold this catalog's schema."""


async def _reached(database: Database) -> None:
    try:
        await database.first_contact()
    except Exception as e:  # only reaching the database can fail its first contact
        raise DatabaseUnreachable(
            f"cannot reach the database {database.display_url}: {in_words(e)}"
        ) from e


async def open_migrated(url: str, *, pool: Pool) -> Database:
    """The database at `url` with its schema brought up to date (a SQLite file is created)."""
    database = open_database(url, pool=pool)
    try:
        await _reached(database)
        await upgrade(database)
    except BaseException:
        await database.close()
        raise
    return database


async def open_existing(url: str, *, pool: Pool) -> Database:
    """The database at `url`, which must exist and have this catalog's schema up to date."""
    path = sqlite_path(url)
    if path is not None and not await asyncio.to_thread(Path(path).is_file):
        raise DatabaseUnreachable(
            f"no catalog database at {path} (CATALOG_DATA_DIR, CATALOG_DATABASE_URL);"
            " `catalog db upgrade` creates one"
        )
    database = open_database(url, pool=pool)
    try:
        await _reached(database)
        revision, head = await database.read(current_revision), head_revision()
        if revision is None:
            raise DatabaseUnreachable(
                f"the database {database.display_url} holds no catalog;"
                " `catalog db upgrade` creates its schema"
            )
        if revision != head:
            raise DatabaseUnreachable(
                f"the database {database.display_url} has schema revision {revision}, this"
                f" catalog needs {head}; `catalog db upgrade` brings an older schema up to date"
            )
    except BaseException:
        await database.close()
        raise
    return database
