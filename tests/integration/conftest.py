"""An API over real adapters: the embedded configuration (SQLite + files) in a temporary folder."""

from __future__ import annotations

import asyncio
import io
import os
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import sqlalchemy as sa
from aiohttp import ClientResponse, web
from aiohttp.pytest_plugin import AiohttpClient
from aiohttp.test_utils import TestClient

from infra import bootstrap
from infra.bootstrap import Container
from infra.db.tables import event
from infra.http.app import create_app
from infra.http.keys import BUS
from infra.settings import (
    ApiSettings,
    CoreSettings,
    DatabaseSettings,
    DeletionSettings,
    ImageCacheSettings,
    ImportSettings,
    PolicySettings,
    QuotaSettings,
    Settings,
    SignatureSettings,
    StoresSettings,
    TaskSettings,
)
from stores.filesystem import FilesystemStore
from tests.keystone_accounts import KeystoneAdmin

PROJECT_A = {"X-Project-Id": "proj-a", "X-User-Id": "alice", "X-Roles": "member,reader"}
PROJECT_B = {"X-Project-Id": "proj-b", "X-User-Id": "bob", "X-Roles": "member,reader"}
READER_A = {"X-Project-Id": "proj-a", "X-User-Id": "rita", "X-Roles": "reader"}
ADMIN = {"X-Project-Id": "admin-proj", "X-User-Id": "root", "X-Roles": "admin,member,reader"}
JSON = {"Accept": "application/json"}

ApiClient = TestClient[web.Request, web.Application]


async def settled(api: ApiClient) -> None:
    """Once the work requests started in the background (imports, copies) has ended."""
    app = api.app
    assert app is not None
    await app[BUS].context.background.idle()


def embedded_settings(
    data_dir: Path,
    database_url: str | None = None,
    *,
    api: ApiSettings | None = None,
    stores: StoresSettings | None = None,
    quotas: QuotaSettings | None = None,
    deletion: DeletionSettings | None = None,
    policy: PolicySettings | None = None,
    tasks: TaskSettings | None = None,
    image_cache: ImageCacheSettings | None = None,
    signatures: SignatureSettings | None = None,
    imports: ImportSettings | None = None,
    **core: object,
) -> Settings:
    """Settings on `data_dir` (SQLite unless `database_url`), with any concern given replaced."""
    given = {
        "api": api,
        "stores": stores,
        "quotas": quotas,
        "deletion": deletion,
        "policy": policy,
        "tasks": tasks,
        "image_cache": image_cache,
        "signatures": signatures,
        "imports": imports,
    }
    return Settings(
        core=CoreSettings(data_dir=data_dir, **core),  # type: ignore[arg-type]
        database=DatabaseSettings(url=database_url),
        **{concern: value for concern, value in given.items() if value is not None},  # type: ignore[arg-type]
    )


@pytest.fixture
async def container(tmp_path: Path, database_url: str) -> AsyncIterator[Container]:
    built = await bootstrap.build(embedded_settings(tmp_path, database_url))
    yield built
    await built.close()


@pytest.fixture
async def api(container: Container, aiohttp_client: object) -> TestClient:  # type: ignore[type-arg]
    client: TestClient = await aiohttp_client(create_app(container))  # type: ignore[operator,type-arg]
    return client


async def event_count(container: Container, stream_id: str | None = None) -> int:
    """Events in the log, or in one stream (an image's: downloads are recorded elsewhere)."""
    query = sa.select(sa.func.count()).select_from(event)
    if stream_id is not None:
        query = query.where(event.c.stream_id == uuid.UUID(stream_id))
    return await container.database.read(lambda conn: int(conn.execute(query).scalar_one()))


async def created_image(
    api: ApiClient, headers: dict[str, str] = PROJECT_A, **body: Any
) -> dict[str, Any]:
    """An image created through the API (raw/bare unless `body` says otherwise): its JSON."""
    body = {"disk_format": "raw", "container_format": "bare", **body}
    response = await api.post("/v2/images", json=body, headers=headers)
    assert response.status == 201, await response.text()
    created: dict[str, Any] = await response.json()
    return created


async def created_image_id(api: ApiClient, headers: dict[str, str] = PROJECT_A, **body: Any) -> str:
    image_id: str = (await created_image(api, headers, **body))["id"]
    return image_id


async def uploaded_image_id(
    api: ApiClient,
    data: bytes = b"data",
    headers: dict[str, str] = PROJECT_A,
    *,
    store: str | None = None,
    **body: Any,
) -> str:
    """An active image holding `data` (in `store`, or the default one)."""
    image_id = await created_image_id(api, headers, **body)
    sent = {**headers, "Content-Type": "application/octet-stream"}
    if store is not None:
        sent["X-Image-Meta-Store"] = store
    response = await api.put(f"/v2/images/{image_id}/file", data=io.BytesIO(data), headers=sent)
    assert response.status == 204, await response.text()
    return image_id


async def failed_upload_image_id(api: ApiClient) -> str:
    """An image whose upload came short of its declared size: Glance's notifications for it
    include `image.upload` at ERROR priority."""
    image_id = await created_image_id(api)
    short = await api.put(
        f"/v2/images/{image_id}/file",
        data=io.BytesIO(b"abc"),
        headers={
            **PROJECT_A,
            **JSON,
            "Content-Type": "application/octet-stream",
            "x-openstack-image-size": "10",
        },
    )
    assert short.status == 400
    return image_id


async def refused_without_change(
    container: Container,
    send: Callable[[], Awaitable[ClientResponse]],
    status: int,
    message: str,
    *,
    anywhere: bool = False,
) -> ClientResponse:
    """Send a request that must be refused: its status, its message (at the start, or
    `anywhere` in it), and no event appended. Returns the response for further checks."""
    before = await event_count(container)
    response = await send()
    assert response.status == status, await response.text()
    error = (await response.json())["message"]
    assert (message in error) if anywhere else error.startswith(message), error
    assert await event_count(container) == before
    return response


def stored_files(container: Container) -> list[Path]:
    driver = container.stores.named("file").driver
    assert isinstance(driver, FilesystemStore)
    root = driver.root
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


async def run_catalog(*args: str, settings: dict[str, str]) -> tuple[int, str, str]:
    """Run the `catalog` command with these `CATALOG_*` settings only: (exit status, stdout,
    stderr)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CATALOG_")}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "infra.cli",
        *args,
        env={**env, **settings},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


@pytest.fixture
async def admin() -> AsyncIterator[KeystoneAdmin]:
    """The local Keystone's bootstrap admin, to make accounts and tokens with."""
    async with aiohttp.ClientSession() as session:
        keystone = KeystoneAdmin(session)
        await keystone.login()
        yield keystone


ApiBuilder = Callable[[Settings], Awaitable[tuple[ApiClient, Container]]]
ApiFactory = Callable[..., Awaitable[tuple[ApiClient, Container]]]


@pytest.fixture
async def api_for(aiohttp_client: AiohttpClient) -> AsyncIterator[ApiBuilder]:
    """An API built from any settings; every container built is closed afterwards."""
    built: list[Container] = []

    async def make(settings: Settings) -> tuple[ApiClient, Container]:
        container = await bootstrap.build(settings)
        built.append(container)
        return await aiohttp_client(create_app(container)), container

    yield make
    for container in built:
        await container.close()


@pytest.fixture
def api_with(tmp_path: Path, sqlite_url: str, api_for: ApiBuilder) -> ApiFactory:
    """An API whose core settings differ (e.g. `image_tag_quota=1`), on SQLite."""

    async def make(**core: Any) -> tuple[ApiClient, Container]:
        return await api_for(embedded_settings(tmp_path, sqlite_url, **core))

    return make
