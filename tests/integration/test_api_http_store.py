"""Images whose data stays at an http(s) URL: attached with set-location through a read-only
`http` store, downloaded through it, never written to or deleted from it."""

from __future__ import annotations

import hashlib
import io
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from infra.bootstrap import Container
from infra.settings import StoresSettings
from tests.http_origin import DATA, Origin, serving
from tests.integration.conftest import (
    JSON,
    PROJECT_A,
    ApiBuilder,
    ApiClient,
    created_image_id,
    embedded_settings,
    refused_without_change,
)


@pytest.fixture
async def origin_url(tmp_path: Path) -> AsyncIterator[tuple[Origin, str]]:
    file = tmp_path / "remote-image"
    file.write_bytes(DATA)
    origin = Origin(file)
    async with serving(origin) as url:
        yield origin, url


StoreApi = Callable[[str], Awaitable[tuple[ApiClient, Container]]]


@pytest.fixture
def store_api(tmp_path: Path, sqlite_url: str, api_for: ApiBuilder) -> StoreApi:
    """An API with a file store and an http store `web` that may reach `allowed` networks."""

    async def make(allowed: str) -> tuple[ApiClient, Container]:
        stores = StoresSettings(
            stores="local:file,web:http", options={"web": {"allowed_networks": allowed}}
        )
        return await api_for(embedded_settings(tmp_path, sqlite_url, stores=stores))

    return make


async def test_data_at_a_url_is_attached_hashed_served_and_left_alone(
    store_api: StoreApi, origin_url: tuple[Origin, str]
) -> None:
    api, _ = await store_api("127.0.0.0/8")
    origin, url = origin_url
    image_id = await created_image_id(api)
    response = await api.post(
        f"/v2/images/{image_id}/locations",
        json={
            "url": f"{url}/image",
            "validation_data": {
                "os_hash_algo": "sha256",
                "os_hash_value": hashlib.sha256(DATA).hexdigest(),
            },
        },
        headers=PROJECT_A,
    )
    assert response.status == 202, await response.text()
    shown = await (await api.get(f"/v2/images/{image_id}", headers=PROJECT_A)).json()
    assert (shown["status"], shown["size"], shown["stores"]) == ("active", len(DATA), "web")
    assert shown["checksum"] == hashlib.md5(DATA).hexdigest()
    ranged = await api.get(
        f"/v2/images/{image_id}/file", headers={**PROJECT_A, "Range": "bytes=10-19"}
    )
    assert (ranged.status, await ranged.read()) == (206, DATA[10:20])
    assert (await api.delete(f"/v2/images/{image_id}", headers=PROJECT_A)).status == 204
    assert not any(request.startswith("DELETE") for request in origin.requests)


async def test_data_at_a_url_not_matching_its_hash_stays_listed_on_the_queued_image(
    store_api: StoreApi, origin_url: tuple[Origin, str]
) -> None:
    # Tempest's LocationImportTest, as Glance: the http store cannot remove what it does not
    # own, so the location stays listed; the image stays queued without data.
    api, _ = await store_api("127.0.0.0/8")
    _, url = origin_url
    image_id = await created_image_id(api)
    wrong = {"os_hash_algo": "sha512", "os_hash_value": "beefdead" * 16}
    body = {"url": f"{url}/image", "validation_data": wrong}
    response = await api.post(f"/v2/images/{image_id}/locations", json=body, headers=PROJECT_A)
    assert response.status == 202, await response.text()
    tasks = await (await api.get(f"/v2/images/{image_id}/tasks", headers=PROJECT_A)).json()
    assert [t["status"] for t in tasks["tasks"]] == ["failure"]
    shown = await (await api.get(f"/v2/images/{image_id}", headers=PROJECT_A)).json()
    assert (shown["status"], shown["checksum"], shown["stores"]) == ("queued", None, "web")

    right = {"os_hash_algo": "sha512", "os_hash_value": hashlib.sha512(DATA).hexdigest()}
    body = {"url": f"{url}/image", "validation_data": right}
    response = await api.post(f"/v2/images/{image_id}/locations", json=body, headers=PROJECT_A)
    assert response.status == 202, await response.text()
    shown = await (await api.get(f"/v2/images/{image_id}", headers=PROJECT_A)).json()
    assert (shown["status"], shown["size"], shown["stores"]) == ("active", len(DATA), "web")


async def test_the_http_store_is_listed_read_only_and_takes_no_uploads(
    store_api: StoreApi,
) -> None:
    api, container = await store_api("127.0.0.0/8")
    stores = (await (await api.get("/v2/info/stores", headers=PROJECT_A)).json())["stores"]
    assert stores == [{"id": "local", "default": "true"}, {"id": "web", "read-only": "true"}]
    image_id = await created_image_id(api)
    await refused_without_change(
        container,
        lambda: api.put(
            f"/v2/images/{image_id}/file",
            data=io.BytesIO(b"data"),
            headers={
                **PROJECT_A,
                **JSON,
                "Content-Type": "application/octet-stream",
                "X-Image-Meta-Store": "web",
            },
        ),
        410,
        "Error in store configuration. Adding images to store is disabled.",
    )


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:{port}/image", "http://169.254.169.254/latest/meta-data/"],
)
async def test_a_location_at_an_internal_address_is_refused_unfetched(
    store_api: StoreApi, origin_url: tuple[Origin, str], url: str
) -> None:
    api, container = await store_api("")
    origin, base = origin_url
    image_id = await created_image_id(api)
    await refused_without_change(
        container,
        lambda: api.post(
            f"/v2/images/{image_id}/locations",
            json={"url": url.format(port=base.rsplit(":", 1)[1])},
            headers={**PROJECT_A, **JSON},
        ),
        400,
        # Glance's words for a refused location: clients (Tempest among them) look for them.
        "URI for add location does not pass filtering: the location's host",
    )
    assert origin.requests == []
