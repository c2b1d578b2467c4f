"""Fixtures shared by every test layer: the real services started by `infra/local/services`."""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import aiohttp
import asyncpg
import pytest
import structlog
from structlog.testing import capture_logs
from structlog.typing import EventDict

from tests.s3_admin import S3Admin

if TYPE_CHECKING:
    from tests.keystone_accounts import KeystoneAdmin

# Every catalog the tests run keeps a snapshot after every few events and checks each load
# from one against the fold of the whole stream (a mismatch fails the request): the whole
# suite proves that a snapshot's state is the fold's, for every event type and every path
# that records them.
os.environ.setdefault("CATALOG_SNAPSHOT_EVERY", "2")
os.environ.setdefault("CATALOG_SNAPSHOT_CHECK", "true")


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


def s3_store_options(bucket_prefix: str) -> dict[str, object]:
    """Options of an S3 store on the local S3 server, in a new bucket of its own."""
    return {
        "endpoint": service_setting("CATALOG_TEST_S3_ENDPOINT"),
        "access_key": service_setting("CATALOG_TEST_S3_ACCESS_KEY"),
        "secret_key": service_setting("CATALOG_TEST_S3_SECRET_KEY"),
        "region": service_setting("CATALOG_TEST_S3_REGION"),
        "bucket": f"{bucket_prefix}-{uuid.uuid4().hex[:12]}",
    }


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


def upload_head(host: str, image_id: str, declared: int, identity: dict[str, str]) -> bytes:
    """The head of an image upload (`PUT …/file`) whose body the caller sends on a raw socket,
    so that it can stop midway, or go away."""
    return (
        f"PUT /v2/images/{image_id}/file HTTP/1.1\r\nHost: {host}\r\n"
        f"Content-Type: application/octet-stream\r\nContent-Length: {declared}\r\n"
        + "".join(f"{k}: {v}\r\n" for k, v in identity.items())
        + "\r\n"
    ).encode()


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    async with fresh_postgres_database() as url:
        yield url


@pytest.fixture
async def keystone_admin() -> AsyncIterator[KeystoneAdmin]:
    """The local Keystone's bootstrap admin, to make accounts and tokens for one test."""
    from tests.keystone_accounts import KeystoneAdmin  # it needs `service_setting` from here

    async with aiohttp.ClientSession() as session:
        admin = KeystoneAdmin(session)
        await admin.login()
        yield admin


@pytest.fixture
def rabbitmq_url() -> str:
    """The local RabbitMQ, as an oslo.messaging transport URL (`rabbit://user:pass@host:port/`)."""
    return service_setting("CATALOG_TEST_RABBITMQ_URL")


@pytest.fixture(scope="session")
def qemu_img() -> str:
    """qemu-img, which tests need for real (not skipped): CI installs it (infra/local/tools)."""
    found = shutil.which("qemu-img")
    assert found, "qemu-img is missing: install Debian's qemu-utils (infra/local/tools does)"
    return found


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


@pytest.fixture(scope="module")
def s3_admin() -> Iterator[S3Admin]:
    """A fresh bucket name on the real S3 server for one test module, removed afterwards."""
    admin = S3Admin(
        service_setting("CATALOG_TEST_S3_ENDPOINT"),
        service_setting("CATALOG_TEST_S3_ACCESS_KEY"),
        service_setting("CATALOG_TEST_S3_SECRET_KEY"),
        service_setting("CATALOG_TEST_S3_REGION"),
    )
    yield admin
    admin.remove_bucket()


@pytest.fixture
def logged() -> Iterator[list[EventDict]]:
    """What the catalog logs during the test, as key-value events (`event`, `log_level`, …),
    with the request's context bound as the server's own configuration binds it."""
    with capture_logs(processors=[structlog.contextvars.merge_contextvars]) as captured:
        yield captured
