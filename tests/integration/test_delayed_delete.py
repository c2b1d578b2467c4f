"""Delayed delete: a deleted image with data is gone for users but keeps its bytes, and an admin
can restore it (`POST …/actions/restore`, `catalog images restore`) until its scrub starts."""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from collections.abc import Awaitable
from pathlib import Path

import pytest
from aiohttp import ClientResponse

from catalog.commands.scrub_image import ScrubResult
from catalog.events import ImageDeletePending, decode
from infra.bootstrap import Container
from infra.settings import QuotaSettings
from stores.errors import StoreError
from tests.integration.conftest import (
    ADMIN,
    JSON,
    PROJECT_A,
    PROJECT_B,
    ApiBuilder,
    ApiClient,
    created_image_id,
    event_count,
    refused_without_change,
    uploaded_image_id,
)
from tests.integration.delayed_delete import (
    SCRUB_TIME,
    delayed_settings,
    event_types,
    files_in,
    history,
    later,
    scrub,
)

V21 = "application/openstack-images-v2.1-json-patch"
RAW = {"Content-Type": "application/octet-stream"}


@pytest.fixture
async def delayed(
    tmp_path: Path, database_url: str, api_for: ApiBuilder
) -> tuple[ApiClient, Container]:
    return await api_for(delayed_settings(tmp_path, database_url))


async def deleted(api: ApiClient, image_id: str) -> None:
    response = await api.delete(f"/v2/images/{image_id}", headers=PROJECT_A)
    assert response.status == 204, await response.text()


async def listed_ids(api: ApiClient, headers: dict[str, str]) -> list[str]:
    response = await api.get("/v2/images", headers={**headers, **JSON})
    assert response.status == 200
    return [shown["id"] for shown in (await response.json())["images"]]


def restore(
    api: ApiClient, image_id: str, headers: dict[str, str] = ADMIN
) -> Awaitable[ClientResponse]:
    return api.post(f"/v2/images/{image_id}/actions/restore", headers={**headers, **JSON})


async def test_a_deleted_image_is_gone_for_everyone_but_keeps_its_bytes(
    delayed: tuple[ApiClient, Container],
) -> None:
    api, container = delayed
    image_id = await uploaded_image_id(api, b"kept")
    await api.put(f"/v2/images/{image_id}/tags/blue", headers=PROJECT_A)
    await api.post(f"/v2/images/{image_id}/members", json={"member": "proj-b"}, headers=PROJECT_A)

    await deleted(api, image_id)

    assert len(files_in(container, "cheap")) == 1
    last = (await history(container, image_id))[-1]
    assert last.event_type == "image.delete_pending"
    assert last.data["previous_status"] == "active"
    assert last.data["locations"] == [files_in(container, "cheap")[0].as_uri()]
    assert last.data["discarded"] == []
    pending = decode(last.event_type, last.schema_version, last.data)
    assert isinstance(pending, ImageDeletePending)
    assert pending.scrub_after == last.occurred_at + SCRUB_TIME
    image = f"/v2/images/{image_id}"
    for headers in (PROJECT_A, ADMIN):
        assert image_id not in await listed_ids(api, headers)
        for path in (image, f"{image}/file", f"{image}/members"):
            response = await api.get(path, headers={**headers, **JSON})
            assert response.status == 404, (path, await response.text())
    patch = [{"op": "replace", "path": "/name", "value": "x"}]
    accept = {"status": "accepted"}
    copy = {"method": {"name": "copy-image"}, "stores": ["fast"]}
    refusals = [
        lambda: api.delete(image, headers={**PROJECT_A, **JSON}),
        lambda: api.patch(image, json=patch, headers={**PROJECT_A, **JSON, "Content-Type": V21}),
        lambda: api.put(f"{image}/tags/red", headers={**PROJECT_A, **JSON}),
        lambda: api.post(f"{image}/actions/deactivate", headers={**ADMIN, **JSON}),
        lambda: api.put(f"{image}/members/proj-b", json=accept, headers={**PROJECT_B, **JSON}),
        lambda: api.put(f"{image}/file", data=b"new", headers={**PROJECT_A, **JSON, **RAW}),
        lambda: api.post(f"{image}/import", json=copy, headers={**ADMIN, **JSON}),
        lambda: api.delete(f"/v2/stores/cheap/{image_id}", headers={**ADMIN, **JSON}),
    ]
    for send in refusals:
        await refused_without_change(container, send, 404, image_id, anywhere=True)
    marker = await api.get(f"/v2/images?marker={image_id}", headers={**ADMIN, **JSON})
    assert marker.status == 400
    assert len(files_in(container, "cheap")) == 1


async def test_an_image_pending_deletion_does_not_count_against_quotas(
    tmp_path: Path, database_url: str, api_for: ApiBuilder
) -> None:
    settings = delayed_settings(tmp_path, database_url)
    settings.quotas = QuotaSettings(image_count_total=5, image_size_total=10)
    api, _ = await api_for(settings)
    image_id = await uploaded_image_id(api, b"x" * 2048)

    await deleted(api, image_id)

    response = await api.get("/v2/info/usage", headers=PROJECT_A)
    usage = (await response.json())["usage"]
    assert usage["image_count_total"]["usage"] == 0
    assert usage["image_size_total"]["usage"] == 0


async def test_restore_brings_the_image_back_with_its_data_tags_and_members(
    delayed: tuple[ApiClient, Container],
) -> None:
    api, container = delayed
    image_id = await uploaded_image_id(api, b"precious")
    await api.put(f"/v2/images/{image_id}/tags/blue", headers=PROJECT_A)
    await api.post(f"/v2/images/{image_id}/members", json={"member": "proj-b"}, headers=PROJECT_A)
    before = await (await api.get(f"/v2/images/{image_id}", headers=PROJECT_A)).json()
    await deleted(api, image_id)

    response = await restore(api, image_id)

    assert response.status == 204, await response.text()
    assert (await event_types(container, image_id))[-2:] == [
        "image.delete_pending",
        "image.restored",
    ]
    shown = await (await api.get(f"/v2/images/{image_id}", headers=PROJECT_A)).json()
    assert shown["status"] == "active"
    assert {k: v for k, v in shown.items() if k != "updated_at"} == {
        k: v for k, v in before.items() if k != "updated_at"
    }
    download = await api.get(f"/v2/images/{image_id}/file", headers=PROJECT_A)
    assert await download.read() == b"precious"
    assert image_id in await listed_ids(api, PROJECT_A)
    members = await api.get(f"/v2/images/{image_id}/members", headers=PROJECT_A)
    assert [m["member_id"] for m in (await members.json())["members"]] == ["proj-b"]
    # Restored, it is scrubbed no more, and deletes as any image.
    assert (await scrub(container, image_id, later())).result is ScrubResult.NOTHING_TO_DO
    assert len(files_in(container, "cheap")) == 1


async def test_a_deactivated_image_goes_pending_and_comes_back_deactivated(
    delayed: tuple[ApiClient, Container],
) -> None:
    """Glance answers 400 here (its status machine has no deactivated → pending_delete)."""
    api, container = delayed
    image_id = await uploaded_image_id(api)
    deactivated = await api.post(f"/v2/images/{image_id}/actions/deactivate", headers=ADMIN)
    assert deactivated.status == 204

    await deleted(api, image_id)

    pending = (await history(container, image_id))[-1]
    assert pending.data["previous_status"] == "deactivated"
    assert (await restore(api, image_id)).status == 204
    shown = await (await api.get(f"/v2/images/{image_id}", headers=PROJECT_A)).json()
    assert shown["status"] == "deactivated"


async def test_an_image_without_data_is_deleted_at_once(
    delayed: tuple[ApiClient, Container],
) -> None:
    api, container = delayed
    image_id = await created_image_id(api)

    await deleted(api, image_id)

    assert (await event_types(container, image_id))[-1] == "image.deleted"
    await refused_without_change(
        container,
        lambda: restore(api, image_id),
        409,
        f"Image {image_id} cannot be restored from status deleted",
    )


async def test_restore_refusals_change_nothing(delayed: tuple[ApiClient, Container]) -> None:
    api, container = delayed
    live = await uploaded_image_id(api)
    pending = await uploaded_image_id(api)
    await deleted(api, pending)

    await refused_without_change(
        container,
        lambda: restore(api, pending, PROJECT_A),
        403,
        "You are not authorized to complete restore_image action.",
    )
    await refused_without_change(
        container, lambda: restore(api, str(uuid.uuid4())), 404, "No image found with ID"
    )
    await refused_without_change(
        container, lambda: restore(api, "not-an-id"), 404, "No image found with ID not-an-id"
    )
    await refused_without_change(
        container,
        lambda: restore(api, live),
        409,
        f"Image {live} cannot be restored from status active: only an image pending deletion",
    )
    body = await api.post(
        f"/v2/images/{pending}/actions/restore", data=b"{}", headers={**ADMIN, **JSON}
    )
    assert body.status == 400
    assert (await event_types(container, pending))[-1] == "image.delete_pending"


async def test_no_restore_once_the_scrub_started(
    delayed: tuple[ApiClient, Container], monkeypatch: pytest.MonkeyPatch
) -> None:
    api, container = delayed
    image_id = await uploaded_image_id(api)
    await deleted(api, image_id)
    driver = container.stores.named("cheap").driver

    async def broken(location: str) -> None:
        raise StoreError("read-only filesystem")

    monkeypatch.setattr(driver, "delete", broken)
    outcome = await scrub(container, image_id, later())
    assert outcome.result is ScrubResult.FAILED

    await refused_without_change(
        container,
        lambda: restore(api, image_id),
        409,
        f"Image {image_id} cannot be restored: its data is already being scrubbed.",
    )
    assert len(files_in(container, "cheap")) == 1


async def test_without_delayed_delete_the_bytes_go_with_the_image(
    tmp_path: Path, database_url: str, api_for: ApiBuilder
) -> None:
    api, container = await api_for(delayed_settings(tmp_path, database_url, delayed_delete=False))
    image_id = await uploaded_image_id(api)

    await deleted(api, image_id)

    assert (await event_types(container, image_id))[-1] == "image.deleted"
    assert files_in(container, "cheap") == []
    assert (await restore(api, image_id)).status == 409
    assert (await scrub(container, image_id, later())).result is ScrubResult.NOTHING_TO_DO


async def test_the_restore_command_restores_or_says_why_not(
    tmp_path: Path, sqlite_url: str, api_for: ApiBuilder
) -> None:
    """The command's wiring; what a restore decides is tested above on both databases."""
    settings = delayed_settings(tmp_path, sqlite_url)
    api, container = await api_for(settings)
    image_id = await uploaded_image_id(api)
    await deleted(api, image_id)
    env = {
        **os.environ,
        "CATALOG_DATABASE_URL": settings.database_url,
        "CATALOG_DATA_DIR": str(tmp_path),
    }

    async def run(*args: str) -> tuple[int | None, str]:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "infra.cli",
            "images",
            "restore",
            *args,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        output, _ = await process.communicate()
        return process.returncode, output.decode()

    code, output = await run(image_id)
    assert code == 0, output
    assert f"image {image_id} restored, status active" in output
    before = await event_count(container)
    code, output = await run(image_id)
    assert code == 1
    assert f"cannot restore image {image_id}: Image {image_id} cannot be restored from" in output
    code, output = await run("nonsense")
    assert code == 1
    assert "cannot restore 'nonsense': not an image id" in output
    assert await event_count(container) == before
