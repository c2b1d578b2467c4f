"""web-download: an image's data imported from an http(s) URL, in the background as a task.

The data is fetched, inspected and hashed as it streams, then written into the stores asked;
any failure leaves the task failed with why and the image `queued` without a byte. A URL the
import filter or the address rules refuse is a 400 at once, and changes nothing.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from catalog.events import EventMetadata, TaskCreated
from catalog.image import Image
from catalog.task import Task, TaskStatus
from infra.bootstrap import Container
from infra.recovery import recover_once, recover_tasks_once
from infra.settings import QuotaSettings, StoresSettings, TaskSettings
from tests.conftest import s3_store_options
from tests.http_origin import DATA, Origin, serving
from tests.integration.conftest import (
    JSON,
    PROJECT_A,
    ApiBuilder,
    ApiClient,
    created_image_id,
    embedded_settings,
    refused_without_change,
    settled,
    stored_files,
)
from tests.waiting import until

LOOPBACK = "127.0.0.0/8"
AS_A = {**PROJECT_A, **JSON}
DEAD = "node-that-died"
LEASE = timedelta(seconds=30)


@pytest.fixture
async def origin(tmp_path: Path) -> AsyncIterator[tuple[Origin, str]]:
    file = tmp_path / "remote-image"
    file.write_bytes(DATA)
    source = Origin(file)
    async with serving(source) as url:
        yield source, url
        source.release.set()  # a test that failed while a fetch was held ends at once


async def downloading_api(
    tmp_path: Path,
    database_url: str,
    api_for: ApiBuilder,
    *,
    stores: StoresSettings | None = None,
    quotas: QuotaSettings | None = None,
    filtering: dict[str, str] | None = None,
) -> tuple[ApiClient, Container]:
    """An API whose imports may fetch from loopback, on any port unless `filtering` says."""
    options = {"import_allowed_networks": LOOPBACK, "import_allowed_ports": "", **(filtering or {})}
    tasks = TaskSettings(**options)  # type: ignore[arg-type]
    settings = embedded_settings(
        tmp_path / "catalog", database_url, tasks=tasks, stores=stores, quotas=quotas
    )
    return await api_for(settings)


@pytest.fixture
async def downloading(
    tmp_path: Path, database_url: str, api_for: ApiBuilder
) -> tuple[ApiClient, Container]:
    return await downloading_api(tmp_path, database_url, api_for)


def web_download(uri: str, **method: Any) -> dict[str, Any]:
    return {"method": {"name": "web-download", "uri": uri, **method}}


async def imported(api: ApiClient, image_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """The image's last task, once the import asked with `body` has ended."""
    response = await api.post(f"/v2/images/{image_id}/import", json=body, headers=PROJECT_A)
    assert response.status == 202, await response.text()
    await settled(api)
    tasks = await (await api.get(f"/v2/images/{image_id}/tasks", headers=PROJECT_A)).json()
    task: dict[str, Any] = tasks["tasks"][0]
    return task


async def refused_import(
    api: ApiClient, container: Container, image_id: str, uri: str, status: int, message: str
) -> None:
    """A web-download of `uri` that must be refused with `status` and `message`, changing
    nothing."""
    await refused_without_change(
        container,
        lambda: api.post(f"/v2/images/{image_id}/import", json=web_download(uri), headers=AS_A),
        status,
        message,
    )


async def image_of(api: ApiClient, image_id: str) -> dict[str, Any]:
    shown: dict[str, Any] = await (
        await api.get(f"/v2/images/{image_id}", headers=PROJECT_A)
    ).json()
    return shown


async def test_web_download_imports_the_urls_data(
    downloading: tuple[ApiClient, Container], origin: tuple[Origin, str]
) -> None:
    api, container = downloading
    _, url = origin
    image_id = await created_image_id(api)
    task = await imported(api, image_id, web_download(f"{url}/image"))
    assert (task["status"], task["result"]) == ("success", {"image_id": image_id})
    shown = await image_of(api, image_id)
    assert (shown["status"], shown["size"]) == ("active", len(DATA))
    assert shown["checksum"] == hashlib.md5(DATA).hexdigest()
    assert shown["os_hash_value"] == hashlib.sha512(DATA).hexdigest()
    data = await api.get(f"/v2/images/{image_id}/file", headers=PROJECT_A)
    assert await data.read() == DATA
    assert len(stored_files(container)) == 1


async def test_validation_data_that_matches_is_accepted(
    downloading: tuple[ApiClient, Container], origin: tuple[Origin, str]
) -> None:
    api, _ = downloading
    _, url = origin
    image_id = await created_image_id(api)
    expected = {"os_hash_algo": "sha512", "os_hash_value": hashlib.sha512(DATA).hexdigest()}
    task = await imported(api, image_id, web_download(f"{url}/image", validation_data=expected))
    assert task["status"] == "success", task
    assert (await image_of(api, image_id))["status"] == "active"


@pytest.mark.parametrize(
    ("path", "image", "method", "why"),
    [
        ("/broken", {}, {}, "Fetching the data failed: the server of"),
        ("/cut-short", {}, {}, "Fetching the data failed: reading"),
        ("/image", {"disk_format": "qcow2"}, {}, ""),
        (
            "/image",
            {},
            {"validation_data": {"os_hash_algo": "sha512", "os_hash_value": "0" * 128}},
            "validation_data",
        ),
    ],
    ids=["broken source", "source cut short", "disk format mismatch", "wrong hash"],
)
async def test_a_failed_web_download_fails_its_task_and_leaves_no_bytes(
    downloading: tuple[ApiClient, Container],
    origin: tuple[Origin, str],
    path: str,
    image: dict[str, Any],
    method: dict[str, Any],
    why: str,
) -> None:
    api, container = downloading
    _, url = origin
    image_id = await created_image_id(api, **image)
    task = await imported(api, image_id, web_download(f"{url}{path}", **method))
    assert task["status"] == "failure", task
    assert why in task["message"]
    shown = await image_of(api, image_id)
    assert (shown["status"], shown["size"], shown["checksum"]) == ("queued", None, None)
    assert "os_glance_import_task" not in shown
    assert stored_files(container) == []


async def test_a_source_larger_than_the_quota_fails_and_leaves_no_bytes(
    tmp_path: Path, database_url: str, api_for: ApiBuilder, origin: tuple[Origin, str]
) -> None:
    quotas = QuotaSettings(image_size_total=1)  # MiB; the source is 2
    api, container = await downloading_api(tmp_path, database_url, api_for, quotas=quotas)
    _, url = origin
    image_id = await created_image_id(api)
    task = await imported(api, image_id, web_download(f"{url}/image"))
    assert task["status"] == "failure", task
    assert (await image_of(api, image_id))["status"] == "queued"
    assert stored_files(container) == []


async def test_a_source_that_stalls_fails_once_it_sent_nothing_for_the_timeout(
    tmp_path: Path, database_url: str, api_for: ApiBuilder, origin: tuple[Origin, str]
) -> None:
    filtering = {"import_read_timeout": "0.5"}
    api, container = await downloading_api(tmp_path, database_url, api_for, filtering=filtering)
    _, url = origin  # /stalled sends half its bytes, then nothing until the test ends
    image_id = await created_image_id(api)
    task = await imported(api, image_id, web_download(f"{url}/stalled"))
    assert task["status"] == "failure", task
    assert task["message"].startswith(f"Fetching the data failed: reading {url}/stalled"), task
    shown = await image_of(api, image_id)
    assert (shown["status"], "os_glance_import_task" in shown) == ("queued", False)
    assert stored_files(container) == []


@pytest.mark.s3
async def test_web_download_into_a_folder_and_the_real_s3_server(
    tmp_path: Path, database_url: str, api_for: ApiBuilder, origin: tuple[Origin, str]
) -> None:
    stores = StoresSettings(
        stores="file:file,objects:s3", options={"objects": s3_store_options("web-download")}
    )
    api, _ = await downloading_api(tmp_path, database_url, api_for, stores=stores)
    _, url = origin
    image_id = await created_image_id(api)
    task = await imported(api, image_id, {**web_download(f"{url}/image"), "all_stores": True})
    assert task["status"] == "success", task
    shown = await image_of(api, image_id)
    assert (shown["status"], shown["stores"]) == ("active", "file,objects")
    from_s3 = await api.get(f"/v2/images/{image_id}/file?prefer=objects", headers=PROJECT_A)
    assert await from_s3.read() == DATA
    only_s3 = await created_image_id(api)
    task = await imported(api, only_s3, {**web_download(f"{url}/image"), "stores": ["objects"]})
    assert task["status"] == "success", task
    assert (await image_of(api, only_s3))["stores"] == "objects"
    for done in (image_id, only_s3):
        assert (await api.delete(f"/v2/images/{done}", headers=PROJECT_A)).status == 204


async def test_a_redirect_to_a_disallowed_host_fails_and_leaves_no_bytes(
    tmp_path: Path, database_url: str, api_for: ApiBuilder, origin: tuple[Origin, str]
) -> None:
    api, container = await downloading_api(
        tmp_path, database_url, api_for, filtering={"import_disallowed_hosts": "localhost"}
    )
    source, url = origin
    source.redirect_to = url.replace("127.0.0.1", "localhost") + "/image"
    image_id = await created_image_id(api)
    task = await imported(api, image_id, web_download(f"{url}/moved"))
    assert task["status"] == "failure", task
    assert (await image_of(api, image_id))["status"] == "queued"
    assert stored_files(container) == []


@pytest.mark.parametrize(
    ("filtering", "uri"),
    [
        ({}, "ftp://127.0.0.1/image"),
        ({"import_allowed_ports": "80,443"}, "{url}/image"),
        ({"import_disallowed_ports": "{port}"}, "{url}/image"),
        ({"import_disallowed_hosts": "127.0.0.1"}, "{url}/image"),
        ({"import_allowed_hosts": "example.com"}, "{url}/image"),
        ({"import_allowed_schemes": "https"}, "{url}/image"),
        ({"import_allowed_networks": ""}, "{url}/image"),
        ({"import_allowed_ports": "80,443"}, "http://does-not.exist/no/possible/way"),
    ],
    ids=[
        "scheme",
        "port",
        "disallowed port",
        "host",
        "allowed host",
        "allowed scheme",
        "net",
        "unknown host",
    ],
)
async def test_a_uri_that_does_not_pass_filtering_is_400_and_changes_nothing(
    tmp_path: Path,
    database_url: str,
    api_for: ApiBuilder,
    origin: tuple[Origin, str],
    filtering: dict[str, str],
    uri: str,
) -> None:
    _, url = origin
    port = url.rsplit(":", 1)[1]
    options = {k: v.format(port=port) for k, v in filtering.items()}
    api, container = await downloading_api(tmp_path, database_url, api_for, filtering=options)
    image_id = await created_image_id(api)
    uri = uri.format(url=url)
    await refused_import(
        api, container, image_id, uri, 400, f"URI for web-download does not pass filtering: {uri}"
    )
    assert stored_files(container) == []


async def test_web_download_needs_a_queued_image(
    downloading: tuple[ApiClient, Container], origin: tuple[Origin, str]
) -> None:
    api, container = downloading
    _, url = origin
    image_id = await created_image_id(api)
    await imported(api, image_id, web_download(f"{url}/image"))
    await refused_import(
        api,
        container,
        image_id,
        f"{url}/image",
        409,
        "Image needs to be in 'queued' state to use 'web-download' method",
    )


async def test_an_image_being_fetched_refuses_another_import(
    downloading: tuple[ApiClient, Container], origin: tuple[Origin, str]
) -> None:
    api, container = downloading
    source, url = origin
    image_id = await created_image_id(api)
    response = await api.post(
        f"/v2/images/{image_id}/import", json=web_download(f"{url}/held"), headers=PROJECT_A
    )
    assert response.status == 202, await response.text()

    async def fetching() -> bool:
        return "GET /held" in source.requests  # the staging has begun: no more events till

    await until(fetching, "the fetch to begin")
    shown = await image_of(api, image_id)
    assert (shown["os_glance_importing_to_stores"], shown["status"]) == ("file", "uploading")
    task_id = shown["os_glance_import_task"]
    await refused_import(
        api,
        container,
        image_id,
        f"{url}/image",
        409,
        f"New operation on image '{image_id}' is not permitted as prior operation is still "
        "in progress",
    )
    source.release.set()
    await settled(api)
    shown = await image_of(api, image_id)
    assert (shown["status"], shown.get("os_glance_import_task")) == ("active", None)
    tasks = await (await api.get(f"/v2/images/{image_id}/tasks", headers=PROJECT_A)).json()
    assert [(t["id"], t["status"]) for t in tasks["tasks"]] == [(task_id, "success")]


async def test_an_import_into_no_store_is_400_and_changes_nothing(
    downloading: tuple[ApiClient, Container], origin: tuple[Origin, str]
) -> None:
    api, container = downloading
    _, url = origin
    image_id = await created_image_id(api)
    await refused_without_change(
        container,
        lambda: api.post(
            f"/v2/images/{image_id}/import",
            json={**web_download(f"{url}/image"), "stores": []},
            headers=AS_A,
        ),
        400,
        "'stores' must name at least one store.",
    )


async def test_info_import_offers_web_download(api: ApiClient) -> None:
    info = await (await api.get("/v2/info/import", headers=PROJECT_A)).json()
    assert info["import-methods"]["value"] == ["glance-direct", "web-download", "copy-image"]


async def test_the_web_download_of_a_dead_process_fails_and_its_bytes_go(
    downloading: tuple[ApiClient, Container],
) -> None:
    """A process that died while fetching: its staging and its task are failed by recovery,
    and the bytes it had fetched go."""
    api, container = downloading
    image_id = await created_image_id(api)
    context = container.bus.context
    now = datetime.now(UTC)
    created = TaskCreated(type="api_image_import", owner="proj-a", image_id=image_id)
    task = Task.create(uuid.uuid4(), created, now)
    task.start(DEAD, now)
    await context.tasks.save(task, EventMetadata())
    store = context.stores.writable("file")
    location = store.location_for(image_id)

    def start(image: Image) -> None:
        image.begin_import(str(task.id), ("file",), now)  # as the request took it
        image.start_upload(
            store="file", location=location, expected_size=None, now=now, node_id=DEAD, staging=True
        )

    await context.images.change(uuid.UUID(image_id), EventMetadata(), start)
    await store.add(image_id, _fetched_so_far())
    assert stored_files(container) != []

    await recover_once(container, LEASE)
    assert await recover_tasks_once(container, LEASE) == [task.id]
    assert (await context.tasks.load(task.id)).status is TaskStatus.FAILURE
    shown = await image_of(api, image_id)
    assert (shown["status"], shown.get("os_glance_import_task")) == ("queued", None)
    assert stored_files(container) == []


async def _fetched_so_far() -> AsyncIterator[bytes]:
    yield DATA[:1024]
