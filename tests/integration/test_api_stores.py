"""Several named stores: discovery, choosing one on upload, the `stores` attribute, location
URLs shown only when configured, the service-only location list, copying data into more stores
(copy-image) and removing one copy."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientResponse

from catalog.commands.copy_image import CopyImage
from catalog.commands.run_as_task import CANCELLED
from catalog.events import EventMetadata
from catalog.identity import Actor
from catalog.image import Image
from infra.bootstrap import Container
from infra.recovery import recover_once
from infra.settings import ApiSettings, Settings, StoresSettings
from tests.conftest import s3_store_options
from tests.integration.conftest import (
    ADMIN,
    JSON,
    PROJECT_A,
    PROJECT_B,
    READER_A,
    ApiBuilder,
    ApiClient,
    created_image_id,
    embedded_settings,
    refused_without_change,
    uploaded_image_id,
)

SERVICE = {"X-Project-Id": "services", "X-User-Id": "nova", "X-Roles": "service"}


def two_store_settings(tmp_path: Path, sqlite_url: str, **concerns: Any) -> Settings:
    """Two filesystem stores: `fast` (weight 100, described) and `cheap`, the default."""
    stores = StoresSettings(
        stores="fast:file,cheap:file",
        default_store="cheap",
        options={
            "fast": {"description": "Local SSD", "weight": 100},
            "cheap": {"dir": tmp_path / "bulk"},
        },
    )
    return embedded_settings(tmp_path, sqlite_url, stores=stores, **concerns)


@pytest.fixture
async def two_stores(
    tmp_path: Path, sqlite_url: str, api_for: ApiBuilder
) -> tuple[ApiClient, Container]:
    return await api_for(two_store_settings(tmp_path, sqlite_url))


async def test_info_stores_lists_every_store_and_marks_the_default(
    two_stores: tuple[ApiClient, Container],
) -> None:
    api, _ = two_stores
    response = await api.get("/v2/info/stores", headers=READER_A)
    assert response.status == 200
    assert await response.json() == {
        "stores": [{"id": "fast", "description": "Local SSD"}, {"id": "cheap", "default": "true"}]
    }


async def test_store_details_are_for_admins_and_services_only(
    two_stores: tuple[ApiClient, Container], tmp_path: Path
) -> None:
    api, container = two_stores
    await refused_without_change(
        container,
        lambda: api.get("/v2/info/stores/detail", headers={**PROJECT_A, **JSON}),
        403,
        "You are not authorized to complete stores_info_detail action.",
    )
    for identity in (ADMIN, SERVICE):
        response = await api.get("/v2/info/stores/detail", headers=identity)
        assert response.status == 200
        cheap = (await response.json())["stores"][1]
        assert cheap == {
            "id": "cheap",
            "default": "true",
            "type": "file",
            "weight": 0,
            "properties": {
                "data_dir": str((tmp_path / "bulk").resolve()),
                "chunk_size": 1 << 20,
                "thin_provisioning": False,
            },
        }


async def test_create_names_the_stores_and_uploads_go_where_asked(
    two_stores: tuple[ApiClient, Container], tmp_path: Path
) -> None:
    api, _ = two_stores
    created = await api.post(
        "/v2/images", json={"disk_format": "raw", "container_format": "bare"}, headers=PROJECT_A
    )
    assert created.headers["OpenStack-image-store-ids"] == "fast,cheap"
    default = await uploaded_image_id(api, b"bulk")
    chosen = await uploaded_image_id(api, b"ssd", store="fast")
    assert (await _shown(api, default))["stores"] == "cheap"
    assert (await _shown(api, chosen))["stores"] == "fast"
    assert (tmp_path / "bulk" / default).read_bytes() == b"bulk"
    assert (tmp_path / "stores" / "fast" / chosen).read_bytes() == b"ssd"


async def test_an_unknown_store_on_upload_is_a_bad_request(
    two_stores: tuple[ApiClient, Container],
) -> None:
    api, container = two_stores
    image_id = await created_image_id(api)
    await refused_without_change(
        container,
        lambda: api.put(
            f"/v2/images/{image_id}/file",
            data=b"x",
            headers={
                **PROJECT_A,
                **JSON,
                "Content-Type": "application/octet-stream",
                "X-Image-Meta-Store": "nowhere",
            },
        ),
        400,
        "Unknown store 'nowhere'.",
    )
    assert (await _shown(api, image_id))["status"] == "queued"


async def test_location_urls_are_hidden_unless_configured(
    two_stores: tuple[ApiClient, Container], tmp_path: Path, sqlite_url: str, api_for: ApiBuilder
) -> None:
    api, _ = two_stores
    image_id = await uploaded_image_id(api)
    shown = await _shown(api, image_id)
    assert "locations" not in shown
    assert "direct_url" not in shown
    assert not any("file://" in str(value) for value in shown.values())

    revealing, _ = await api_for(
        two_store_settings(tmp_path, sqlite_url, api=ApiSettings(show_locations=True))
    )
    shown = await _shown(revealing, image_id)
    url = (tmp_path / "bulk" / image_id).as_uri()
    assert shown["locations"] == [{"url": url, "metadata": {"store": "cheap"}}]
    assert shown["direct_url"] == url


async def test_the_location_list_is_for_admins_and_services(
    two_stores: tuple[ApiClient, Container], tmp_path: Path
) -> None:
    api, container = two_stores
    image_id = await uploaded_image_id(api, headers=ADMIN, visibility="public")
    for identity in (ADMIN, SERVICE):
        response = await api.get(f"/v2/images/{image_id}/locations", headers=identity)
        assert response.status == 200
        assert await response.json() == [
            {"url": (tmp_path / "bulk" / image_id).as_uri(), "metadata": {"store": "cheap"}}
        ]
    await refused_without_change(
        container,
        lambda: api.get(f"/v2/images/{image_id}/locations", headers={**PROJECT_A, **JSON}),
        403,
        "You are not authorized to complete fetch_image_location action.",
    )


async def _shown(api: ApiClient, image_id: str) -> dict[str, Any]:
    response = await api.get(f"/v2/images/{image_id}", headers=PROJECT_A)
    assert response.status == 200
    shown: dict[str, Any] = await response.json()
    return shown


def _copy_image(
    api: ApiClient, image_id: str, headers: dict[str, str], body: dict[str, Any]
) -> Awaitable[ClientResponse]:
    """POST …/import with the copy-image method and `body` (stores, all_stores, ...)."""
    return api.post(
        f"/v2/images/{image_id}/import",
        json={"method": {"name": "copy-image"}, **body},
        headers=headers,
    )


async def _tasks(api: ApiClient, image_id: str) -> Any:
    """The image's tasks, as its owner reads them."""
    response = await api.get(f"/v2/images/{image_id}/tasks", headers={**PROJECT_A, **JSON})
    assert response.status == 200, await response.text()
    return (await response.json())["tasks"]


async def _second_copy(api: ApiClient, container: Container, image_id: str, store: str) -> None:
    """A copy of the image's data in `store`, made by the copy-image import (admin)."""
    response = await _copy_image(api, image_id, ADMIN, {"stores": [store]})
    assert response.status == 202, await response.text()
    await container.bus.context.background.idle()


async def test_one_copy_can_be_removed_and_its_bytes_go(
    two_stores: tuple[ApiClient, Container], tmp_path: Path
) -> None:
    api, container = two_stores
    image_id = await uploaded_image_id(api, b"twice")
    await _second_copy(api, container, image_id, "fast")
    assert (await _shown(api, image_id))["stores"] == "cheap,fast"

    response = await api.delete(f"/v2/stores/cheap/{image_id}", headers=ADMIN)
    assert response.status == 204, await response.text()
    shown = await _shown(api, image_id)
    assert (shown["stores"], shown["status"]) == ("fast", "active")
    assert not (tmp_path / "bulk" / image_id).exists()
    download = await api.get(f"/v2/images/{image_id}/file", headers=PROJECT_A)
    assert await download.read() == b"twice"


@pytest.mark.parametrize(
    ("path", "identity", "status", "message"),
    [
        ("/v2/stores/elsewhere/{id}", ADMIN, 409, "The selected store elsewhere is not available"),
        ("/v2/stores/cheap/{id}", ADMIN, 403, "Cannot delete image data from the only store"),
        ("/v2/stores/cheap/{id}", PROJECT_A, 403, "You are not authorized to complete"),
        ("/v2/stores/cheap/{other}", ADMIN, 404, "Failed to find image {other}"),
    ],
)
async def test_removing_a_copy_is_refused_without_change(
    two_stores: tuple[ApiClient, Container],
    path: str,
    identity: dict[str, str],
    status: int,
    message: str,
) -> None:
    api, container = two_stores
    image_id = await uploaded_image_id(api)
    other = str(uuid.uuid4())
    await refused_without_change(
        container,
        lambda: api.delete(path.format(id=image_id, other=other), headers={**identity, **JSON}),
        status,
        message.format(id=image_id, other=other),
    )


async def test_downloads_read_the_preferred_copy_else_the_heaviest_store(
    two_stores: tuple[ApiClient, Container], tmp_path: Path
) -> None:
    api, container = two_stores
    image_id = await uploaded_image_id(api, b"same bytes")
    await _second_copy(api, container, image_id, "fast")
    # Tell the copies apart by what they hold: the store is not asked to verify on read.
    fast_copy = tmp_path / "stores" / "fast" / image_id
    await asyncio.to_thread(fast_copy.write_bytes, b"fast bytes")
    await refused_without_change(
        container,
        lambda: api.get(
            f"/v2/images/{image_id}/file?prefer=nowhere", headers={**PROJECT_A, **JSON}
        ),
        400,
        "Store 'nowhere' is not configured.",
    )
    plain = await api.get(f"/v2/images/{image_id}/file", headers=PROJECT_A)
    assert await plain.read() == b"fast bytes"  # weight 100 beats 0
    preferred = await api.get(f"/v2/images/{image_id}/file?prefer=cheap", headers=PROJECT_A)
    assert await preferred.read() == b"same bytes"


async def test_copy_image_copies_into_every_store_that_lacks_the_data(
    two_stores: tuple[ApiClient, Container], tmp_path: Path
) -> None:
    api, container = two_stores
    image_id = await uploaded_image_id(api, b"everywhere")
    response = await _copy_image(api, image_id, ADMIN, {"all_stores": True})
    assert response.status == 202
    # Answered once the copy has begun: the import lock is held, the store listed as importing.
    began = await _shown(api, image_id)
    [task] = await _tasks(api, image_id)
    assert began["os_glance_import_task"] == task["id"]
    assert (began["os_glance_importing_to_stores"], began["os_glance_failed_import"]) == (
        "fast",
        "",
    )
    await container.bus.context.background.idle()
    shown = await _shown(api, image_id)
    assert shown["stores"] == "cheap,fast"
    assert "os_glance_import_task" not in shown
    assert (shown["os_glance_importing_to_stores"], shown["os_glance_failed_import"]) == ("", "")
    assert (tmp_path / "stores" / "fast" / image_id).read_bytes() == b"everywhere"
    types = [e.event_type for e in await container.log.load_stream(uuid.UUID(image_id))]
    assert types[-4:] == [
        "image.import_started",
        "image.copy_started",
        "image.copied",
        "image.import_ended",
    ]
    [task] = await _tasks(api, image_id)
    assert (task["type"], task["status"], task["owner"]) == (
        "api_image_import",
        "success",
        "admin-proj",
    )
    # The request as sent, as Glance keeps it.
    assert task["input"]["import_req"] == {"method": {"name": "copy-image"}, "all_stores": True}
    assert task["input"]["backend"] == ["fast"]
    # Nothing left to copy: accepted, and nothing copied.
    again = await _copy_image(api, image_id, ADMIN, {"all_stores": True})
    assert again.status == 202
    await container.bus.context.background.idle()
    types = [e.event_type for e in await container.log.load_stream(uuid.UUID(image_id))]
    assert types[-2:] == ["image.import_started", "image.import_ended"]
    assert (await _shown(api, image_id))["stores"] == "cheap,fast"


async def test_a_copy_the_server_stops_before_it_began_ends_its_task_and_lock(
    two_stores: tuple[ApiClient, Container], tmp_path: Path
) -> None:
    api, container = two_stores
    image_id = await uploaded_image_id(api, b"to copy")
    admin = Actor(user_id="root", project_id="admin-proj", roles=("admin", "member", "reader"))
    copy = CopyImage(image_id=uuid.UUID(image_id), method="copy-image", stores=("fast",))
    # Dispatched here, not through HTTP, so that the loop does not turn before the server
    # stops: the copy is stopped before its first step, as by a stop right after the 202.
    await container.bus.dispatch(copy, EventMetadata(actor=admin))
    await container.bus.context.background.close()
    [task] = await _tasks(api, image_id)
    assert (task["status"], task["message"]) == ("failure", CANCELLED)
    shown = await _shown(api, image_id)
    assert (shown["status"], shown["stores"]) == ("active", "cheap")
    assert "os_glance_import_task" not in shown  # the import lock is released
    assert not (tmp_path / "stores" / "fast" / image_id).exists()


@pytest.mark.parametrize(
    ("body", "identity", "status", "message"),
    [
        ({"stores": ["fast"]}, PROJECT_A, 403, "You are not authorized to complete copy_image"),
        ({"stores": ["fast"]}, PROJECT_B, 404, "No image found with ID"),
        ({"stores": ["cheap"]}, ADMIN, 400, "Image is already present at store 'cheap'"),
        ({"stores": ["nowhere"]}, ADMIN, 409, "Store for identifier nowhere not found"),
        ({"stores": "fast"}, ADMIN, 400, "'stores' must be a list"),
        ({"stores": ["fast"], "all_stores": True}, ADMIN, 400, "All_stores parameter can't"),
    ],
)
async def test_copy_image_refusals_change_nothing(
    two_stores: tuple[ApiClient, Container],
    body: dict[str, Any],
    identity: dict[str, str],
    status: int,
    message: str,
) -> None:
    api, container = two_stores
    image_id = await uploaded_image_id(api)
    await refused_without_change(
        container,
        lambda: _copy_image(api, image_id, {**identity, **JSON}, body),
        status,
        message,
    )


@pytest.mark.parametrize(
    ("action", "message"),
    [
        (
            "remove",
            "It's not allowed to remove image data from store if image status is not 'active'",
        ),
        ("copy", "Only images with status active can be targeted for copying"),
    ],
)
async def test_copies_of_an_image_without_data_are_refused(
    two_stores: tuple[ApiClient, Container], action: str, message: str
) -> None:
    api, container = two_stores
    image_id = await created_image_id(api)
    headers = {**ADMIN, **JSON}
    requests = {
        "remove": lambda: api.delete(f"/v2/stores/cheap/{image_id}", headers=headers),
        "copy": lambda: _copy_image(api, image_id, headers, {"stores": ["fast"]}),
    }
    await refused_without_change(container, requests[action], 409, message)


async def test_a_copy_that_does_not_match_the_image_is_removed_and_recorded(
    two_stores: tuple[ApiClient, Container], tmp_path: Path
) -> None:
    api, container = two_stores
    image_id = await uploaded_image_id(api, b"original")
    await asyncio.to_thread((tmp_path / "bulk" / image_id).write_bytes, b"tampered")
    response = await _copy_image(api, image_id, {**ADMIN, **JSON}, {"stores": ["fast"]})
    assert response.status == 202  # the failure is told by the task and the image
    await container.bus.context.background.idle()
    shown = await _shown(api, image_id)
    assert (shown["status"], shown["stores"]) == ("active", "cheap")
    assert (shown["os_glance_importing_to_stores"], shown["os_glance_failed_import"]) == (
        "",
        "fast",
    )
    assert not (tmp_path / "stores" / "fast" / image_id).exists()
    types = [e.event_type for e in await container.log.load_stream(uuid.UUID(image_id))]
    assert types[-3:] == ["image.copy_started", "image.copy_failed", "image.import_ended"]
    [task] = await _tasks(api, image_id)
    assert task["status"] == "failure"
    assert "does not match the image's checksum" in task["message"]


async def test_a_copy_of_a_dead_process_is_failed_and_its_bytes_removed(
    two_stores: tuple[ApiClient, Container], tmp_path: Path
) -> None:
    api, container = two_stores
    image_id = await uploaded_image_id(api, b"data")
    images = container.bus.context.images
    target = container.stores.named("fast")
    location = target.location_for(image_id)

    def start(image: Image) -> None:
        image.start_copy("fast", location, "node-that-died", datetime.now(UTC))

    await images.change(uuid.UUID(image_id), EventMetadata(), start)

    async def partial() -> AsyncIterator[bytes]:
        yield b"da"

    await target.add(image_id, partial())
    assert await recover_once(container, timedelta(seconds=30)) == []
    assert not (tmp_path / "stores" / "fast" / image_id).exists()
    image = await images.load(uuid.UUID(image_id))
    assert (image.status, image.copies) == ("active", {})
    last = (await container.log.load_stream(uuid.UUID(image_id)))[-1]
    assert last.event_type == "image.copy_failed"
    assert (await _shown(api, image_id))["stores"] == "cheap"


@pytest.mark.s3
async def test_copies_go_between_a_folder_and_the_real_s3_server(
    tmp_path: Path, database_url: str, api_for: ApiBuilder
) -> None:
    """copy-image into S3Proxy, a ranged read of the S3 copy, and the folder's copy let go."""
    s3_options = s3_store_options("copies")
    stores = StoresSettings(stores="file:file,objects:s3", options={"objects": s3_options})
    api, container = await api_for(embedded_settings(tmp_path, database_url, stores=stores))
    data = bytes(range(256)) * 4096
    image_id = await uploaded_image_id(api, data)
    response = await _copy_image(api, image_id, ADMIN, {"stores": ["objects"]})
    assert response.status == 202, await response.text()
    await container.bus.context.background.idle()
    assert (await _shown(api, image_id))["stores"] == "file,objects"

    removed = await api.delete(f"/v2/stores/file/{image_id}", headers=ADMIN)
    assert removed.status == 204
    assert (await _shown(api, image_id))["stores"] == "objects"
    ranged = await api.get(
        f"/v2/images/{image_id}/file", headers={**PROJECT_A, "Range": "bytes=1000-1999"}
    )
    assert (ranged.status, await ranged.read()) == (206, data[1000:2000])
    assert (await api.delete(f"/v2/images/{image_id}", headers=PROJECT_A)).status == 204
