"""The Glance catalog of tests/fixtures/glance (made by a real Glance 33, see make_catalog.py
there), laid out for one test: its database copied (SQLite) or loaded into the local MariaDB or
PostgreSQL, and its data files in two folders that the test's `fast` and `bulk` file stores
use, its locations pointing at them."""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import sqlite3
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from pymysql.constants import CLIENT

from infra.settings import StoresSettings
from tests.conftest import fresh_postgres_database, service_setting

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "glance"
GLANCE_DATA = "file:///tmp/glance-fixture/"
"""Where the data was when Glance made the catalog."""
GLANCE_TABLES = ("images", "image_properties", "image_tags", "image_members", "image_locations")
OWNER = {"X-Project-Id": "p-owner", "X-User-Id": "u-p-owner", "X-Roles": "admin,member,reader"}


def image_id(n: int) -> str:
    return f"00000000-0000-4000-8000-{n:012d}"


@dataclass(frozen=True)
class GlanceCatalog:
    """One test's copy of the Glance catalog."""

    folder: Path

    @property
    def data(self) -> Path:
        return self.folder / "data"

    @property
    def sqlite(self) -> Path:
        return self.folder / "glance.sqlite"

    @property
    def sqlite_url(self) -> str:
        return f"sqlite:///{self.sqlite}"

    def stores(self) -> StoresSettings:
        return StoresSettings(
            stores="fast:file,bulk:file",
            default_store="fast",
            options={name: {"dir": self.data / name} for name in ("fast", "bulk")},
        )

    def moved_locations(self, statement: str) -> str:
        """`statement` (SQL on Glance's tables) with the data's old place replaced by this one."""
        return statement.replace(GLANCE_DATA, f"{self.data.as_uri()}/")


def glance_catalog(tmp_path: Path) -> GlanceCatalog:
    catalog = GlanceCatalog(tmp_path / "glance")
    shutil.copytree(FIXTURE / "images", catalog.data)
    shutil.copyfile(FIXTURE / "glance.sqlite", catalog.sqlite)
    with sqlite3.connect(catalog.sqlite) as db:
        db.execute(
            "update image_locations set value = replace(value, ?, ?)",
            (GLANCE_DATA, f"{catalog.data.as_uri()}/"),
        )
    return catalog


@contextlib.contextmanager
def glance_on_mariadb(catalog: GlanceCatalog) -> Iterator[str]:
    """The same Glance database on the local MariaDB (glance.mysql.sql: Glance's own tables
    there), in a database made for one test and dropped afterwards: its URL."""
    server = sa.make_url(service_setting("CATALOG_TEST_MARIADB_URL"))
    name = f"glance_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(server, poolclass=sa.NullPool)
    with admin.begin() as conn:
        conn.execute(sa.text(f"CREATE DATABASE {name} CHARACTER SET utf8mb3"))
    url = server.set(database=name)
    try:
        dump = catalog.moved_locations((FIXTURE / "glance.mysql.sql").read_text())
        loader = sa.create_engine(
            url, poolclass=sa.NullPool, connect_args={"client_flag": CLIENT.MULTI_STATEMENTS}
        )
        with loader.begin() as conn:
            conn.exec_driver_sql(dump)
        loader.dispose()
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f"DROP DATABASE {name}"))
        admin.dispose()


@contextlib.asynccontextmanager
async def glance_on_postgres(catalog: GlanceCatalog) -> AsyncIterator[str]:
    """The same Glance database on the local PostgreSQL, its tables as Glance's models make
    them there (the SQLite database's, reflected), in a database made for one test: its URL."""
    async with fresh_postgres_database() as server:
        url = sa.make_url(server).set(drivername="postgresql+psycopg")
        await asyncio.to_thread(_copy_tables, catalog.sqlite_url, url)
        yield url.render_as_string(hide_password=False)


def _copy_tables(source_url: str, target_url: sa.URL) -> None:
    source = sa.create_engine(source_url, poolclass=sa.NullPool)
    target = sa.create_engine(target_url, poolclass=sa.NullPool)
    tables = sa.MetaData()
    tables.reflect(source, only=GLANCE_TABLES)
    for table in tables.sorted_tables:
        # SQLite's spelling of types and booleans (0/1 defaults and checks) is not PostgreSQL's.
        for check in [c for c in table.constraints if isinstance(c, sa.CheckConstraint)]:
            table.constraints.discard(check)
        for column in table.columns:
            column.type = column.type.as_generic()
            if isinstance(column.type, sa.Boolean):
                column.server_default = None
    tables.create_all(target)
    with source.connect() as reading, target.begin() as writing:
        for table in tables.sorted_tables:
            flags = [c.name for c in table.columns if isinstance(c.type, sa.Boolean)]
            rows = [
                {**row._asdict(), **{flag: bool(getattr(row, flag)) for flag in flags}}
                for row in reading.execute(sa.select(table))
            ]
            if rows:
                writing.execute(sa.insert(table), rows)
    source.dispose()
    target.dispose()


def glance_answer(name: str) -> Any:
    """One of Glance's recorded answers (`api/…`)."""
    return json.loads((FIXTURE / "api" / name).read_text())


def recorded_images() -> dict[str, dict[str, Any]]:
    """Glance's answer to GET /v2/images/{id}, for each image it showed."""
    return {p.stem: json.loads(p.read_text()) for p in (FIXTURE / "api" / "images").glob("*.json")}


def edit(url: str, statement: str, **params: Any) -> None:
    """Change the Glance database as Glance would have (a test's change between two runs)."""
    engine = sa.create_engine(url, poolclass=sa.NullPool)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(statement), params)
    finally:
        engine.dispose()
