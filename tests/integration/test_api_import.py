"""Interoperable import, glance-direct: PUT …/stage, then POST …/import.

Every refusal is checked for its status and message, no event recorded and no bytes left.
"""

from __future__ import annotations

import hashlib
import io
import json
from typing import Any

from infra.bootstrap import Container
from tests.integration.conftest import (
    ADMIN,
    JSON,
    PROJECT_A,
    PROJECT_B,
    READER_A,
    ApiFactory,
    event_count,
    refused_without_change,
    settled,
    stored_files,
)
from tests.integration.conftest import ApiClient as Client
from tests.integration.conftest import created_image_id as create

DATA = b"staged bytes " * 1000
OCTETS = {**PROJECT_A, **JSON, "Content-Type": "application/octet-stream"}
GLANCE_DIRECT = {"method": {"name": "glance-direct"}}


async def stage(
    api: Client, image_id: str, data: bytes = DATA, headers: dict[str, str] | None = None
) -> Any:
    return await api.put(
        f"/v2/images/{image_id}/stage",
        data=io.BytesIO(data),
        headers={**OCTETS, **(headers or {})},
    )


async def start_import(
    api: Client, image_id: str, body: Any = GLANCE_DIRECT, headers: dict[str, str] = PROJECT_A
) -> Any:
    return await api.post(
        f"/v2/images/{image_id}/import",
        data=json.dumps(body),
        headers={**headers, **JSON, "Content-Type": "application/json"},
    )


async def show(api: Client, image_id: str) -> dict[str, Any]:
    shown: dict[str, Any] = await (
        await api.get(f"/v2/images/{image_id}", headers=PROJECT_A)
    ).json()
    return shown


async def test_staged_data_becomes_the_image_on_import(api: Client) -> None:
    image_id = await create(api)
    assert (await stage(api, image_id)).status == 204
    staged = await show(api, image_id)
    assert (staged["status"], staged["size"], staged["checksum"]) == ("uploading", len(DATA), None)
    # Staged bytes are not the image's data yet.
    assert (await api.get(f"/v2/images/{image_id}/file", headers=PROJECT_A)).status == 204

    response = await start_import(api, image_id)
    assert response.status == 202
    await settled(api)
    imported = await show(api, image_id)
    assert imported["status"] == "active"
    assert imported["size"] == len(DATA)
    assert imported["checksum"] == hashlib.md5(DATA).hexdigest()
    assert imported["os_hash_value"] == hashlib.sha512(DATA).hexdigest()
    download = await api.get(f"/v2/images/{image_id}/file", headers=PROJECT_A)
    assert await download.read() == DATA


async def test_import_is_advertised(api: Client) -> None:
    response = await api.post("/v2/images", json={"name": "x"}, headers=PROJECT_A)
    assert (
        response.headers["OpenStack-image-import-methods"]
        == "glance-direct,web-download,copy-image"
    )
    info = await (await api.get("/v2/info/import", headers=PROJECT_A)).json()
    assert info["import-methods"]["value"] == ["glance-direct", "web-download", "copy-image"]


async def test_deleting_a_staged_image_removes_the_staged_bytes(
    api: Client, container: Container
) -> None:
    image_id = await create(api)
    assert (await stage(api, image_id)).status == 204
    assert stored_files(container)
    assert (await api.delete(f"/v2/images/{image_id}", headers=PROJECT_A)).status == 204
    assert stored_files(container) == []


async def test_refused_imports_change_nothing(api: Client, container: Container) -> None:
    queued = await create(api)

    async def refused(image_id: str, body: Any, status: int, message: str, **kw: Any) -> None:
        await refused_without_change(
            container, lambda: start_import(api, image_id, body, **kw), status, message
        )

    await refused(queued, {}, 400, "Import request requires a 'method' field.")
    await refused(queued, {"method": {}}, 400, "Import request requires a 'name' field.")
    await refused(queued, {"method": "glance-direct"}, 400, "Import request requires a 'name'")
    await refused(queued, {"method": {"name": "nope"}}, 400, "Unknown import method name 'nope'.")
    await refused(
        queued,
        {"method": {"name": "web-download", "uri": "http://127.0.0.1/x"}},
        400,
        "URI for web-download does not pass filtering: http://127.0.0.1/x",
    )
    await refused(
        queued,
        {**GLANCE_DIRECT, "all_stores": "yes"},
        400,
        "'all_stores' must be boolean value only",
    )
    await refused(
        queued, GLANCE_DIRECT, 409, "Image needs to be staged before 'glance-direct' method"
    )
    await refused(queued, GLANCE_DIRECT, 404, "No image found", headers=PROJECT_B)
    await refused(queued, GLANCE_DIRECT, 403, "You are not authorized", headers=READER_A)

    no_formats = await create(api, disk_format=None, container_format=None)
    assert (await stage(api, no_formats)).status == 204
    await refused(no_formats, GLANCE_DIRECT, 409, "'container_format' needs to be set before")

    active = await create(api)
    assert (await stage(api, active)).status == 204
    assert (await start_import(api, active)).status == 202
    await settled(api)
    await refused(active, GLANCE_DIRECT, 409, "Image with status active cannot be target")


async def test_refused_stagings_change_nothing_and_leave_no_bytes(
    api: Client, container: Container
) -> None:
    image_id = await create(api)
    assert (await stage(api, image_id)).status == 204
    files = stored_files(container)

    async def refused(target: str, status: int, message: str, **headers: str) -> None:
        await refused_without_change(
            container, lambda: stage(api, target, headers=headers), status, message
        )

    await refused(
        image_id, 409, "Image status transition from uploading to uploading is not allowed"
    )
    other = await create(api)
    await refused(other, 415, "The request media type text/plain", **{"Content-Type": "text/plain"})
    await refused(other, 404, "No image found", **{"X-Project-Id": "proj-b"})
    await refused(other, 403, "You are not authorized", **{"X-Roles": "reader"})
    assert stored_files(container) == files


async def test_staging_over_the_size_cap_leaves_the_image_queued_without_bytes(
    api_with: ApiFactory,
) -> None:
    api, container = await api_with(image_size_cap=1000)
    image_id = await create(api)
    before = await event_count(container)
    response = await stage(api, image_id, b"x" * 5000)
    assert response.status == 413
    assert (await show(api, image_id))["status"] == "queued"
    assert stored_files(container) == []
    # The declared length is over the cap: refused before anything starts or is recorded.
    assert await event_count(container) == before


async def test_a_staging_cut_short_by_the_size_cap_is_undone(api_with: ApiFactory) -> None:
    """Without a declared length the cap is found while streaming: the staging is recorded as
    started and failed, the partial bytes are gone and the image is queued again."""
    api, container = await api_with(image_size_cap=1000)
    image_id = await create(api)

    async def chunks() -> Any:
        for _ in range(5):
            yield b"x" * 1000

    response = await api.put(f"/v2/images/{image_id}/stage", data=chunks(), headers=OCTETS)
    assert response.status == 413
    assert (await show(api, image_id))["status"] == "queued"
    assert stored_files(container) == []
    assert (await stage(api, image_id)).status == 413  # DATA is over the cap too


async def test_an_admin_may_import_another_projects_staged_image(api: Client) -> None:
    image_id = await create(api)
    assert (await stage(api, image_id)).status == 204
    assert (await start_import(api, image_id, headers=ADMIN)).status == 202
    await settled(api)
    assert (await show(api, image_id))["status"] == "active"
