"""The node cache of images, whichever store holds their data: filled as a download streams,
verified against the image's hashes, served from this node's disk, pruned, cleaned, evicted,
and managed through Glance's cache API."""

from __future__ import annotations

import os
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from infra.bootstrap import Container
from infra.http.keys import CACHE_WORKER
from infra.settings import ImageCacheSettings, StoresSettings
from tests.http_origin import DATA, Origin, serving
from tests.integration.conftest import (
    ADMIN,
    JSON,
    PROJECT_A,
    PROJECT_B,
    ApiBuilder,
    ApiClient,
    created_image_id,
    embedded_settings,
    event_count,
    refused_without_change,
    uploaded_image_id,
)
from tests.s3_admin import S3Admin
from tests.waiting import until

pytestmark = pytest.mark.s3

MiB = 1024 * 1024
CacheApi = Callable[..., Awaitable[tuple[ApiClient, Container]]]


@pytest.fixture
def cache_api(tmp_path: Path, sqlite_url: str, api_for: ApiBuilder, s3_admin: S3Admin) -> CacheApi:
    """A node whose images go to the real S3 server, with an image cache in `cache_dir`
    (None: without a cache); http store `web` and file store `disk` beside it."""

    async def make(
        cache_dir: Path | None = tmp_path / "cache", **cache: Any
    ) -> tuple[ApiClient, Container]:
        stores = StoresSettings(
            stores="objects:s3,web:http,disk:file",
            options={
                "objects": s3_admin.store_options(),
                "web": {"allowed_networks": "127.0.0.0/8"},
                "disk": {"dir": tmp_path / "disk"},
            },
            default_store="objects",
        )
        image_cache = ImageCacheSettings(dir=cache_dir, **cache)
        settings = embedded_settings(tmp_path, sqlite_url, stores=stores, image_cache=image_cache)
        return await api_for(settings)

    return make


async def cache_state(api: ApiClient) -> dict[str, Any]:
    response = await api.get("/v2/cache", headers=ADMIN)
    assert response.status == 200, await response.text()
    state: dict[str, Any] = await response.json()
    return state


async def cached_ids(api: ApiClient) -> list[str]:
    return [entry["image_id"] for entry in (await cache_state(api))["cached_images"]]


async def download(api: ApiClient, image_id: str, headers: dict[str, str] = PROJECT_A) -> bytes:
    response = await api.get(f"/v2/images/{image_id}/file", headers=headers)
    assert response.status == 200, await response.text()
    return await response.read()


def s3_key(s3_admin: S3Admin, image_id: str) -> str:
    (key,) = [key for key in s3_admin.keys() if image_id in key]  # noqa: SIM118 (a method)
    return key


async def test_a_download_fills_the_cache_and_the_next_is_served_from_it(
    cache_api: CacheApi, s3_admin: S3Admin
) -> None:
    api, container = await cache_api()
    data = os.urandom(3 * MiB + 5)
    image_id = await uploaded_image_id(api, data)
    assert await cached_ids(api) == []

    assert await download(api, image_id) == data
    (entry,) = (await cache_state(api))["cached_images"]
    assert (entry["image_id"], entry["size"], entry["hits"]) == (image_id, len(data), 0)

    # The object gone from S3 behind the catalog's back: only the cache can still serve it.
    s3_admin.client.delete_object(Bucket=s3_admin.bucket, Key=s3_key(s3_admin, image_id))
    before = await event_count(container)
    assert await download(api, image_id) == data

    async def recorded() -> bool:  # image.data_sent, as for any download (image.send)
        return await event_count(container) == before + 1

    await until(recorded, "the download from the cache recorded")
    (entry,) = (await cache_state(api))["cached_images"]
    assert entry["hits"] == 1
    assert entry["last_accessed"] >= entry["last_modified"]


async def test_images_in_a_file_store_are_cached_too(cache_api: CacheApi, tmp_path: Path) -> None:
    # As on Glance: a file store is often a shared (NFS) folder, slower than this node's disk.
    api, _ = await cache_api()
    data = os.urandom(MiB + 3)
    image_id = await uploaded_image_id(api, data, store="disk")
    assert await download(api, image_id) == data
    assert await cached_ids(api) == [image_id]

    # The file gone from the store behind the catalog's back: only the cache can still serve it.
    (stored,) = (tmp_path / "disk").iterdir()
    stored.unlink()
    assert await download(api, image_id) == data
    (entry,) = (await cache_state(api))["cached_images"]
    assert entry["hits"] == 1


async def test_the_rules_still_decide_on_a_cache_hit(cache_api: CacheApi) -> None:
    api, container = await cache_api()
    image_id = await uploaded_image_id(api, b"private bytes")
    assert await download(api, image_id) == b"private bytes"
    assert await cached_ids(api) == [image_id]
    stranger = {"X-Project-Id": "proj-z", "X-User-Id": "zed", "X-Roles": "member,reader"}
    await refused_without_change(
        container,
        lambda: api.get(f"/v2/images/{image_id}/file", headers={**stranger, **JSON}),
        404,
        f"No image found with ID {image_id}",
    )


async def test_ranges_and_deactivated_images_bypass_the_cache(cache_api: CacheApi) -> None:
    api, _ = await cache_api()
    data = os.urandom(MiB)
    image_id = await uploaded_image_id(api, data)
    ranged = await api.get(
        f"/v2/images/{image_id}/file", headers={**PROJECT_A, "Range": "bytes=0-99"}
    )
    assert (ranged.status, await ranged.read()) == (206, data[:100])
    assert await cached_ids(api) == []
    deactivate = await api.post(f"/v2/images/{image_id}/actions/deactivate", headers=ADMIN)
    assert deactivate.status == 204
    assert await download(api, image_id, ADMIN) == data
    assert await cached_ids(api) == []


async def test_bytes_that_are_not_the_images_are_never_cached(
    cache_api: CacheApi, tmp_path: Path
) -> None:
    api, _ = await cache_api()
    remote = tmp_path / "remote-image"
    remote.write_bytes(DATA)
    async with serving(Origin(remote)) as url:
        image_id = await created_image_id(api)
        attached = await api.post(
            f"/v2/images/{image_id}/locations", json={"url": f"{url}/image"}, headers=PROJECT_A
        )
        assert attached.status == 202, await attached.text()
        # The origin's bytes change (same size) after the catalog recorded their hashes.
        remote.write_bytes(bytes(reversed(DATA)))
        await download(api, image_id)
        assert await cached_ids(api) == []
        invalid = list((tmp_path / "cache" / "invalid").iterdir())
        assert len(invalid) == 1
        cleaned = await api.post("/v2/cache/clean", headers=ADMIN)
        assert cleaned.status == 200
        assert (await cleaned.json())["total_files_cleaned"] == 1
        assert not list((tmp_path / "cache" / "invalid").iterdir())
        # Right bytes again: the next download caches them.
        remote.write_bytes(DATA)
        assert await download(api, image_id) == DATA
        assert await cached_ids(api) == [image_id]


async def test_cleaning_removes_fills_stalled_longer_than_the_stall_time(
    cache_api: CacheApi, tmp_path: Path
) -> None:
    api, _ = await cache_api(stall_time=3600)
    incomplete = tmp_path / "cache" / "incomplete"
    stalled, streaming = incomplete / "stalled", incomplete / "streaming"
    stalled.write_bytes(b"left by a dead process")
    streaming.write_bytes(b"still coming")
    two_hours_ago = time.time() - 7200
    os.utime(stalled, (two_hours_ago, two_hours_ago))
    cleaned = await api.post("/v2/cache/clean", headers=ADMIN)
    assert await cleaned.json() == {"total_files_cleaned": 1, "total_bytes_cleaned": 22}
    assert sorted(p.name for p in incomplete.iterdir()) == ["streaming"]


@pytest.mark.parametrize("store", ["objects", "disk"])
async def test_a_queued_image_is_fetched_in_the_background(cache_api: CacheApi, store: str) -> None:
    api, _ = await cache_api()
    image_id = await uploaded_image_id(api, os.urandom(MiB), store=store)
    response = await api.put(f"/v2/cache/{image_id}", headers=ADMIN)
    assert response.status == 202, await response.text()

    async def cached() -> bool:
        state = await cache_state(api)
        return state["queued_images"] == [] and [e["image_id"] for e in state["cached_images"]] == [
            image_id
        ]

    await until(cached, "the queued image cached")


async def test_entries_are_removed_one_by_one_or_all_at_once(cache_api: CacheApi) -> None:
    api, _ = await cache_api()
    first = await uploaded_image_id(api, b"first")
    second = await uploaded_image_id(api, b"second")
    for image_id in (first, second):
        await download(api, image_id)
    assert sorted(await cached_ids(api)) == sorted([first, second])
    assert (await api.delete(f"/v2/cache/{first}", headers=ADMIN)).status == 204
    assert await cached_ids(api) == [second]
    cleared = await api.delete(
        "/v2/cache", headers={**ADMIN, "x-image-cache-clear-target": "cache"}
    )
    assert cleared.status == 204
    assert await cached_ids(api) == []


async def test_deleting_an_image_evicts_it_here_and_at_the_other_nodes_upkeep(
    cache_api: CacheApi, tmp_path: Path
) -> None:
    here, _ = await cache_api()
    there, _ = await cache_api(tmp_path / "other-node-cache")
    deleted_here = await uploaded_image_id(here, b"deleted here")
    deleted_there = await uploaded_image_id(here, b"deleted there")
    for image_id in (deleted_here, deleted_there):
        await download(here, image_id)
    assert (await here.delete(f"/v2/images/{deleted_here}", headers=PROJECT_A)).status == 204
    assert await cached_ids(here) == [deleted_there]
    assert (await there.delete(f"/v2/images/{deleted_there}", headers=PROJECT_A)).status == 204
    await here.app[CACHE_WORKER].maintain()
    assert await cached_ids(here) == []
    assert not list((tmp_path / "cache" / "cached").iterdir())


async def test_the_least_recently_used_images_are_pruned_beyond_the_size_limit(
    cache_api: CacheApi,
) -> None:
    api, _ = await cache_api(max_size=2 * MiB + MiB // 2)
    old, recent, new = [await uploaded_image_id(api, os.urandom(MiB)) for _ in range(3)]
    await download(api, old)
    await download(api, recent)
    await download(api, old)  # a hit: `recent` is now the least recently used
    await download(api, new)
    assert sorted(await cached_ids(api)) == sorted([old, new])
    # Bigger than the whole cache: streamed, never cached.
    huge = await uploaded_image_id(api, os.urandom(3 * MiB))
    await download(api, huge)
    assert huge not in await cached_ids(api)
    pruned = await api.post("/v2/cache/prune", headers=ADMIN)
    assert await pruned.json() == {"total_files_pruned": 0, "total_bytes_pruned": 0}


async def test_the_cache_versions_are_served_only_with_a_cache(cache_api: CacheApi) -> None:
    with_cache, _ = await cache_api()
    without, _ = await cache_api(None)
    listed = await (await with_cache.get("/versions")).json()
    ids = {v["id"]: v["status"] for v in listed["versions"]}
    assert ids["v2.18"] == "CURRENT"
    assert {"v2.14", "v2.16"} <= ids.keys()
    assert (await with_cache.get("/v2.14/cache", headers=ADMIN)).status == 200
    listed = await (await without.get("/versions")).json()
    assert not {"v2.14", "v2.16", "v2.18"} & {v["id"] for v in listed["versions"]}
    assert (await without.get("/v2.14/images", headers=ADMIN)).status == 300


# -- bad input: a clear 4xx, nothing changed -----------------------------------------------


async def refused_leaving_the_cache(
    api: ApiClient,
    container: Container,
    send: Callable[[], Awaitable[Any]],
    status: int,
    message: str,
) -> None:
    before = await cache_state(api)
    await refused_without_change(container, send, status, message)
    assert await cache_state(api) == before


async def test_bad_cache_requests_are_refused_and_change_nothing(cache_api: CacheApi) -> None:
    api, container = await cache_api()
    cached = await uploaded_image_id(api, b"cached")
    await download(api, cached)
    queued = await created_image_id(api)
    unknown = "0c7f7a2e-5a8e-4a47-9d3b-1b1f1d0e0e0e"
    admin = {**ADMIN, **JSON}
    cases: list[tuple[Callable[[], Awaitable[Any]], int, str]] = [
        (
            lambda: api.put(f"/v2/cache/{unknown}", headers=admin),
            404,
            f"Image {unknown} not found.",
        ),
        (lambda: api.put("/v2/cache/not-an-id", headers=admin), 404, "Image not-an-id not found."),
        (
            lambda: api.put(f"/v2/cache/{queued}", headers=admin),
            400,
            "Only images with status active can be targeted for queueing",
        ),
        (
            lambda: api.delete(f"/v2/cache/{unknown}", headers=admin),
            404,
            f"Image {unknown} not found.",
        ),
        (
            lambda: api.delete("/v2/cache", headers={**admin, "x-image-cache-clear-target": "all"}),
            400,
            "If provided 'x-image-cache-clear-target' must be 'cache', 'queue' or empty string.",
        ),
        (
            lambda: api.get("/v2/cache", headers={**PROJECT_A, **JSON}),
            403,
            "Access was denied to this resource.",
        ),
        (
            lambda: api.put(f"/v2/cache/{cached}", headers={**PROJECT_A, **JSON}),
            403,
            "Access was denied to this resource.",
        ),
        (
            lambda: api.delete("/v2/cache", headers={**PROJECT_A, **JSON}),
            403,
            "Access was denied to this resource.",
        ),
        (
            lambda: api.post("/v2/cache/prune", headers={**PROJECT_A, **JSON}),
            403,
            "Access was denied to this resource.",
        ),
        (
            lambda: api.post("/v2/cache/clean", headers={**PROJECT_A, **JSON}),
            403,
            "Access was denied to this resource.",
        ),
        # The owner sees the image, but may not take it out of the cache.
        (
            lambda: api.delete(f"/v2/cache/{cached}", headers={**PROJECT_A, **JSON}),
            403,
            "Access was denied to this resource.",
        ),
        # Another project does not see the image: none to queue; nor may it manage the cache.
        (
            lambda: api.put(f"/v2/cache/{cached}", headers={**PROJECT_B, **JSON}),
            404,
            f"Image {cached} not found.",
        ),
        (
            lambda: api.delete(f"/v2/cache/{cached}", headers={**PROJECT_B, **JSON}),
            403,
            "Access was denied to this resource.",
        ),
        (
            lambda: api.put(f"/v2/cache/{cached}", headers=admin, data=b"{}"),
            400,
            "A body is not expected with this request.",
        ),
        (
            lambda: api.post("/v2/cache/prune", headers=admin, data=b"{}"),
            400,
            "A body is not expected with this request.",
        ),
    ]
    for send, status, message in cases:
        await refused_leaving_the_cache(api, container, send, status, message)
    assert await cached_ids(api) == [cached]


async def test_without_a_cache_the_cache_api_is_not_supported(cache_api: CacheApi) -> None:
    api, container = await cache_api(None)
    image_id = await uploaded_image_id(api, b"data")
    admin = {**ADMIN, **JSON}
    for send in (
        lambda: api.get("/v2/cache", headers=admin),
        lambda: api.put(f"/v2/cache/{image_id}", headers=admin),
        lambda: api.delete(f"/v2/cache/{image_id}", headers=admin),
        lambda: api.delete("/v2/cache", headers=admin),
        lambda: api.post("/v2/cache/prune", headers=admin),
        lambda: api.post("/v2/cache/clean", headers=admin),
    ):
        await refused_without_change(
            container, send, 404, "Caching via API is not supported at this site."
        )
    # Downloads are unchanged.
    response = await api.get(f"/v2/images/{image_id}/file", headers=PROJECT_A)
    assert await response.read() == b"data"
