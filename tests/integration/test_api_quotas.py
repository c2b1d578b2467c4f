"""Per-project quotas are hard: image count on create, stored bytes on upload, concurrent
requests included; a refused request changes nothing and a failed upload gives its claim back."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from infra.bootstrap import Container
from infra.settings import QuotaSettings
from tests.integration.conftest import (
    JSON,
    PROJECT_A,
    PROJECT_B,
    ApiBuilder,
    ApiClient,
    created_image_id,
    embedded_settings,
    refused_without_change,
    stored_files,
)

MiB = 1024 * 1024
QuotaApi = Callable[..., Awaitable[tuple[ApiClient, Container]]]


@pytest.fixture
def quota_api(tmp_path: Path, database_url: str, api_for: ApiBuilder) -> QuotaApi:
    async def make(**quotas: Any) -> tuple[ApiClient, Container]:
        settings = embedded_settings(tmp_path, database_url, quotas=QuotaSettings(**quotas))
        return await api_for(settings)

    return make


async def _upload(api: ApiClient, image_id: str, data: bytes, *, declared: bool = True) -> int:
    headers = {**PROJECT_A, **JSON, "Content-Type": "application/octet-stream"}
    if declared:
        headers["x-openstack-image-size"] = str(len(data))

    async def chunked() -> AsyncIterator[bytes]:
        for offset in range(0, len(data), 64 * 1024):
            yield data[offset : offset + 64 * 1024]

    body = io.BytesIO(data) if declared else chunked()
    response = await api.put(f"/v2/images/{image_id}/file", data=body, headers=headers)
    return response.status


async def test_the_image_count_quota_refuses_one_image_more(quota_api: QuotaApi) -> None:
    api, container = await quota_api(image_count_total=2)
    await created_image_id(api)
    await created_image_id(api)
    await refused_without_change(
        container,
        lambda: api.post("/v2/images", json={}, headers={**PROJECT_A, **JSON}),
        413,
        "The request returned a 413 Request Entity Too Large.",
    )
    await created_image_id(api, PROJECT_B)  # another project has its own count


async def test_concurrent_creates_never_pass_the_count(quota_api: QuotaApi) -> None:
    api, _ = await quota_api(image_count_total=3)
    responses = await asyncio.gather(
        *(api.post("/v2/images", json={}, headers=PROJECT_A) for _ in range(8))
    )
    assert sorted(r.status for r in responses) == [201] * 3 + [413] * 5


async def test_deleting_an_image_frees_its_place(quota_api: QuotaApi) -> None:
    api, _ = await quota_api(image_count_total=1)
    image_id = await created_image_id(api)
    assert (await api.delete(f"/v2/images/{image_id}", headers=PROJECT_A)).status == 204
    await created_image_id(api)


async def test_an_upload_past_the_storage_quota_is_refused_before_any_byte(
    quota_api: QuotaApi,
) -> None:
    api, container = await quota_api(image_size_total=1)
    image_id = await created_image_id(api)
    await refused_without_change(
        container,
        lambda: api.put(
            f"/v2/images/{image_id}/file",
            data=io.BytesIO(b"x" * (MiB + 1)),
            headers={**PROJECT_A, **JSON, "Content-Type": "application/octet-stream"},
        ),
        413,
        "The request returned a 413 Request Entity Too Large.",
    )
    assert stored_files(container) == []


async def test_concurrent_uploads_never_pass_the_storage_quota(quota_api: QuotaApi) -> None:
    api, container = await quota_api(image_size_total=2)
    ids = [await created_image_id(api) for _ in range(5)]
    statuses = await asyncio.gather(*(_upload(api, i, b"x" * (MiB // 2 + 1)) for i in ids))
    assert sorted(statuses) == [204] * 3 + [413] * 2
    assert len(stored_files(container)) == 3


async def test_an_upload_of_unknown_size_may_use_what_is_left_and_no_more(
    quota_api: QuotaApi,
) -> None:
    api, container = await quota_api(image_size_total=1)
    first, second = await created_image_id(api), await created_image_id(api)
    assert await _upload(api, first, b"a" * (MiB // 2), declared=False) == 204
    assert await _upload(api, second, b"b" * (MiB // 2 + 1), declared=False) == 413
    shown = await (await api.get(f"/v2/images/{second}", headers=PROJECT_A)).json()
    assert (shown["status"], shown["size"]) == ("queued", None)
    assert len(stored_files(container)) == 1
    # The refused upload gave its claim back: exactly what is left still fits.
    assert await _upload(api, second, b"c" * (MiB // 2), declared=False) == 204


async def test_a_project_may_have_its_own_limits(quota_api: QuotaApi) -> None:
    api, _ = await quota_api(image_count_total=0, projects={"proj-b": {"image_count_total": 1}})
    assert (await api.post("/v2/images", json={}, headers=PROJECT_A)).status == 413
    await created_image_id(api, PROJECT_B)


async def test_usage_reports_the_projects_figures(quota_api: QuotaApi) -> None:
    api, _ = await quota_api(image_count_total=5, image_size_total=10)
    await _upload(api, await created_image_id(api), b"x" * (MiB + 1))
    response = await api.get("/v2/info/usage", headers=PROJECT_A)
    assert await response.json() == {
        "usage": {
            "image_size_total": {"limit": 10, "usage": 2},
            "image_count_total": {"limit": 5, "usage": 1},
            "image_count_uploading": {"limit": 10, "usage": 0},
        }
    }
