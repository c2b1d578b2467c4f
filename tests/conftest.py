"""Fixtures shared by every test layer: the real services started by `infra/local/services`."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
import structlog
from structlog.testing import capture_logs
from structlog.typing import EventDict


def service_setting(name: str) -> str:
    """A connection setting exported by `infra/local/services env`.

    Missing in CI is a failure (the suite must run against the real servers); missing on a
    developer's machine skips, with the command that brings the servers up.
    """
    value = os.environ.get(name)
    if value:
        return value
    message = f'{name} is not set: run `eval "$(infra/local/services up)"` first'
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@contextlib.asynccontextmanager
async def fresh_postgres_database() -> AsyncIterator[str]:
    """The URL of a new, empty PostgreSQL database, dropped afterwards."""
    server = service_setting("CATALOG_TEST_POSTGRES_URL")
    name = f"catalog_test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(server)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    base, _, _ = server.rpartition("/")
    yield f"{base}/{name}"
    admin = await asyncpg.connect(server)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    async with fresh_postgres_database() as url:
        yield url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'catalog.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each test using this runs once on SQLite and once on the real PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'catalog.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def logged() -> Iterator[list[EventDict]]:
    """What the catalog logs during the test, as key-value events (`event`, `log_level`, …),
    with the request's context bound as the server's own configuration binds it."""
    with capture_logs(processors=[structlog.contextvars.merge_contextvars]) as captured:
        yield captured
