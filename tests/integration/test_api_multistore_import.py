"""Imports into several stores, as Glance's: glance-direct with `stores`, `all_stores` and
`all_stores_must_succeed`, answered 202 once begun and finished in the background; the
`os_glance_*` properties clients wait on; the import lock; failures that leave no bytes;
recovery of the imports of a dead process. On both databases, with two folder stores, and
with a folder and the real S3 server."""

from __future__ import annotations

import asyncio
import hashlib
import io
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from catalog.commands.recover_tasks import ABANDONED
from catalog.events import EventMetadata, TaskCreated
from catalog.image import Image
from catalog.task import Task, TaskStatus
from infra.bootstrap import Container
from infra.recovery import recover_tasks_once
from infra.settings import StoresSettings
from tests.conftest import s3_store_options
from tests.integration.conftest import (
    ADMIN,
    JSON,
    PROJECT_A,
    ApiBuilder,
    ApiClient,
    created_image_id,
    embedded_settings,
    refused_without_change,
    settled,
)

DATA = b"imported into several stores " * 2000
OCTETS = {**PROJECT_A, **JSON, "Content-Type": "application/octet-stream"}
LEASE = timedelta(seconds=30)


@pytest.fixture
async def two_stores(
    tmp_path: Path, database_url: str, api_for: ApiBuilder
) -> tuple[ApiClient, Container]:
    """Two folder stores: `fast` and `cheap`, the default (where bytes are staged); and `web`,
    the read-only http store, which imports never write."""
    stores = StoresSettings(
        stores="fast:file,cheap:file,web:http",
        default_store="cheap",
        options={"cheap": {"dir": tmp_path / "bulk"}},
    )
    return await api_for(embedded_settings(tmp_path, database_url, stores=stores))


async def staged_image_id(api: ApiClient, data: bytes = DATA) -> str:
    image_id = await created_image_id(api)
    put = await api.put(f"/v2/images/{image_id}/stage", data=io.BytesIO(data), headers=OCTETS)
    assert put.status == 204, await put.text()
    return image_id


async def start_import(
    api: ApiClient, image_id: str, body: dict[str, Any], headers: dict[str, str] = PROJECT_A
) -> Any:
    return await api.post(
        f"/v2/images/{image_id}/import",
        json={"method": {"name": "glance-direct"}, **body},
        headers={**headers, **JSON},
    )


async def shown(api: ApiClient, image_id: str) -> dict[str, Any]:
    response = await api.get(f"/v2/images/{image_id}", headers=PROJECT_A)
    assert response.status == 200
    body: dict[str, Any] = await response.json()
    return body


async def tasks_of(api: ApiClient, image_id: str) -> list[dict[str, Any]]:
    response = await api.get(f"/v2/images/{image_id}/tasks", headers={**PROJECT_A, **JSON})
    assert response.status == 200
    tasks: list[dict[str, Any]] = (await response.json())["tasks"]
    return tasks


def progress(image: dict[str, Any]) -> tuple[str | None, str | None, str | None]:
    """The import lock, the stores still importing, the stores failed, as the image shows."""
    return (
        image.get("os_glance_import_task"),
        image.get("os_glance_importing_to_stores"),
        image.get("os_glance_failed_import"),
    )


def files(tmp_path: Path) -> dict[str, list[Path]]:
    """The files in each of the two folder stores."""
    folders = {"fast": tmp_path / "stores" / "fast", "cheap": tmp_path / "bulk"}
    return {
        name: sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []
        for name, folder in folders.items()
    }


def holding(tmp_path: Path) -> set[str]:
    """The stores holding bytes."""
    return {name for name, held in files(tmp_path).items() if held}


async def test_glance_direct_into_every_store(
    two_stores: tuple[ApiClient, Container], tmp_path: Path
) -> None:
    api, _container = two_stores
    image_id = await staged_image_id(api)
    response = await start_import(api, image_id, {"all_stores": True})
    assert response.status == 202, await response.text()
    began = await shown(api, image_id)
    [task] = await tasks_of(api, image_id)
    assert began["status"] == "importing"
    assert progress(began) == (task["id"], "fast,cheap", "")

    await settled(api)
    image = await shown(api, image_id)
    assert (image["status"], image["stores"]) == ("active", "fast,cheap")
    assert progress(image) == (None, "", "")
    assert (image["size"], image["checksum"]) == (len(DATA), hashlib.md5(DATA).hexdigest())
    assert holding(tmp_path) == {"fast", "cheap"}
    for store in ("fast", "cheap"):
        download = await api.get(f"/v2/images/{image_id}/file?prefer={store}", headers=PROJECT_A)
        assert await download.read() == DATA
    [task] = await tasks_of(api, image_id)
    assert (task["status"], task["result"]) == ("success", {"image_id": image_id})
    assert task["input"]["import_req"] == {"method": {"name": "glance-direct"}, "all_stores": True}
    assert task["input"]["backend"] == ["fast", "cheap"]


async def test_glance_direct_into_another_store_than_the_staging_one(
    two_stores: tuple[ApiClient, Container], tmp_path: Path
) -> None:
    api, _container = two_stores
    image_id = await staged_image_id(api)
    assert (await start_import(api, image_id, {"stores": ["fast"]})).status == 202
    await settled(api)
    image = await shown(api, image_id)
    assert (image["status"], image["stores"]) == ("active", "fast")
    assert progress(image) == (None, "", "")
    assert holding(tmp_path) == {"fast"}  # the staged bytes went


async def tamper_with_staged_bytes(tmp_path: Path, image_id: str) -> None:
    """The staged bytes change behind the catalog's back: a copy of them no longer matches."""
    staged = tmp_path / "bulk" / image_id
    assert files(tmp_path) == {"fast": [], "cheap": [staged]}
    await asyncio.to_thread(staged.write_bytes, b"x" * len(DATA))


async def test_a_store_that_fails_fails_the_import_and_leaves_no_bytes(
    two_stores: tuple[ApiClient, Container], tmp_path: Path
) -> None:
    api, _container = two_stores
    image_id = await staged_image_id(api)
    await tamper_with_staged_bytes(tmp_path, image_id)
    response = await start_import(api, image_id, {"stores": ["cheap", "fast"]})
    assert response.status == 202
    await settled(api)
    image = await shown(api, image_id)
    assert (image["status"], image.get("stores"), image["size"]) == ("queued", None, None)
    assert progress(image) == (None, "", "fast")
    assert holding(tmp_path) == set()
    [task] = await tasks_of(api, image_id)
    assert task["status"] == "failure"
    assert "does not match the image's checksum" in task["message"]


async def test_when_not_all_stores_must_succeed_the_others_are_kept(
    two_stores: tuple[ApiClient, Container], tmp_path: Path
) -> None:
    api, _container = two_stores
    image_id = await staged_image_id(api)
    await tamper_with_staged_bytes(tmp_path, image_id)
    body = {"stores": ["fast", "cheap"], "all_stores_must_succeed": False}
    assert (await start_import(api, image_id, body)).status == 202
    await settled(api)
    image = await shown(api, image_id)
    assert (image["status"], image["stores"]) == ("active", "cheap")
    assert progress(image) == (None, "", "fast")
    assert holding(tmp_path) == {"cheap"}
    [task] = await tasks_of(api, image_id)
    assert task["status"] == "success"


@pytest.mark.parametrize(
    ("body", "header", "status", "message"),
    [
        ({"stores": ["nowhere"]}, None, 409, "Store for identifier nowhere not found"),
        ({}, "nowhere", 409, "Store for identifier nowhere not found"),
        ({"stores": ["fast"], "all_stores": True}, None, 400, "All_stores parameter can't be"),
        ({"all_stores": True}, "fast", 400, "All_stores parameter can't be used"),
        ({"stores": ["fast"]}, "cheap", 400, "Stores parameter and x-image-meta-store header"),
        ({"stores": "fast"}, None, 400, "'stores' must be a list of store identifiers."),
        ({"stores": []}, None, 400, "'stores' must name at least one store."),
        ({"all_stores_must_succeed": "no"}, None, 400, "'all_stores_must_succeed' must be"),
        # Glance answers 202 and its task fails, leaving the image `importing` for good.
        ({"stores": ["fast", "web"]}, None, 410, "Error in store configuration. Adding images"),
    ],
)
async def test_bad_store_requests_change_nothing(
    two_stores: tuple[ApiClient, Container],
    tmp_path: Path,
    body: dict[str, Any],
    header: str | None,
    status: int,
    message: str,
) -> None:
    """Stores asked in the body, in the X-Image-Meta-Store header, or both."""
    api, container = two_stores
    image_id = await staged_image_id(api)
    headers = PROJECT_A if header is None else {**PROJECT_A, "X-Image-Meta-Store": header}
    await refused_without_change(
        container, lambda: start_import(api, image_id, body, headers), status, message
    )
    assert (await shown(api, image_id))["status"] == "uploading"
    assert holding(tmp_path) == {"cheap"}  # the staged bytes, left where they were


async def test_an_image_being_imported_refuses_another_import(
    two_stores: tuple[ApiClient, Container],
) -> None:
    api, container = two_stores
    image_id = await staged_image_id(api)
    held_by = "a-task-of-another-process"

    def lock(image: Image) -> None:
        image.begin_import(held_by, ("fast",), datetime.now(UTC))

    await container.bus.context.images.change(uuid.UUID(image_id), EventMetadata(), lock)
    assert progress(await shown(api, image_id)) == (held_by, "fast", "")
    await refused_without_change(
        container,
        lambda: start_import(api, image_id, {"stores": ["fast"]}),
        409,
        f"New operation on image '{image_id}' is not permitted as prior operation is still "
        "in progress",
    )


async def test_copy_image_into_a_store_that_has_the_data_changes_nothing(
    two_stores: tuple[ApiClient, Container],
) -> None:
    api, container = two_stores
    image_id = await staged_image_id(api)
    assert (await start_import(api, image_id, {"all_stores": True})).status == 202
    await settled(api)
    await refused_without_change(
        container,
        lambda: api.post(
            f"/v2/images/{image_id}/import",
            json={"method": {"name": "copy-image"}, "stores": ["fast"]},
            headers={**ADMIN, **JSON},
        ),
        400,
        "Image is already present at store 'fast'",
    )


async def test_the_import_of_a_dead_process_fails_and_its_bytes_go(
    two_stores: tuple[ApiClient, Container], tmp_path: Path
) -> None:
    api, container = two_stores
    image_id = await staged_image_id(api)
    now = datetime.now(UTC)
    created = TaskCreated(type="api_image_import", owner="proj-a", image_id=image_id)
    task = Task.create(uuid.uuid4(), created, now)
    task.start("node-that-died", now)
    await container.bus.context.tasks.save(task, EventMetadata())

    def begin(image: Image) -> None:
        image.begin_import(str(task.id), ("cheap", "fast"), now, brings_data=True)

    await container.bus.context.images.change(uuid.UUID(image_id), EventMetadata(), begin)
    assert (await shown(api, image_id))["status"] == "importing"

    assert await recover_tasks_once(container, LEASE) == [task.id]
    assert (await container.bus.context.tasks.load(task.id)).status is TaskStatus.FAILURE
    image = await shown(api, image_id)
    assert (image["status"], image["size"]) == ("queued", None)
    assert progress(image) == (None, "", "cheap,fast")
    assert holding(tmp_path) == set()
    history = await container.log.load_stream(uuid.UUID(image_id))
    assert history[-2].event_type == "image.upload_failed"
    assert history[-2].data["reason"] == ABANDONED


@pytest.mark.s3
async def test_glance_direct_into_a_folder_and_the_real_s3_server(
    tmp_path: Path, database_url: str, api_for: ApiBuilder
) -> None:
    stores = StoresSettings(
        stores="file:file,objects:s3", options={"objects": s3_store_options("imports")}
    )
    api, _ = await api_for(embedded_settings(tmp_path, database_url, stores=stores))
    image_id = await staged_image_id(api)
    assert (await start_import(api, image_id, {"all_stores": True})).status == 202
    await settled(api)
    image = await shown(api, image_id)
    assert (image["status"], image["stores"]) == ("active", "file,objects")
    assert progress(image) == (None, "", "")
    from_s3 = await api.get(f"/v2/images/{image_id}/file?prefer=objects", headers=PROJECT_A)
    assert await from_s3.read() == DATA
    # And copied back the other way: into S3 only, the folder's staged bytes go.
    other = await staged_image_id(api)
    assert (await start_import(api, other, {"stores": ["objects"]})).status == 202
    await settled(api)
    assert (await shown(api, other))["stores"] == "objects"
    assert not (tmp_path / "stores" / "file" / other).exists()
    assert (await api.delete(f"/v2/images/{image_id}", headers=PROJECT_A)).status == 204
    assert (await api.delete(f"/v2/images/{other}", headers=PROJECT_A)).status == 204
