"""Concurrent changes to one image all take effect, as on Glance: racing another request is
not a reason to refuse one. Only what the image itself refuses (here, its member quota) is."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from pathlib import Path
from typing import Any

from tests.integration.conftest import (
    JSON,
    PROJECT_A,
    ApiBuilder,
    created_image_id,
    embedded_settings,
    event_count,
)

OWNER = {**PROJECT_A, **JSON}
PATCH = {**OWNER, "Content-Type": "application/openstack-images-v2.1-json-patch"}
DEADLINE_SECONDS = 300
"""A bound on each burst of requests, far above what it needs on a busy machine."""


async def statuses_of(requests: list[Any]) -> Counter[int]:
    async with asyncio.timeout(DEADLINE_SECONDS):
        responses = await asyncio.gather(*requests)
    for response in responses:
        await response.read()
    return Counter(response.status for response in responses)


async def test_concurrent_patches_of_one_image_all_apply(
    tmp_path: Path, database_url: str, api_for: ApiBuilder
) -> None:
    api, _ = await api_for(embedded_settings(tmp_path, database_url))
    image_id = await created_image_id(api)

    def add(n: int) -> Any:
        body = [{"op": "add", "path": f"/prop_{n}", "value": f"value {n}"}]
        return api.patch(f"/v2/images/{image_id}", data=json.dumps(body), headers=PATCH)

    assert await statuses_of([add(n) for n in range(50)]) == {200: 50}
    shown = await (await api.get(f"/v2/images/{image_id}", headers=OWNER)).json()
    assert {key: shown.get(key) for key in (f"prop_{n}" for n in range(50))} == {
        f"prop_{n}": f"value {n}" for n in range(50)
    }


async def test_concurrent_member_adds_fill_the_quota_exactly(
    tmp_path: Path, database_url: str, api_for: ApiBuilder
) -> None:
    settings = embedded_settings(tmp_path, database_url, image_member_quota=10)
    api, container = await api_for(settings)
    image_id = await created_image_id(api)
    before = await event_count(container, image_id)
    members = f"/v2/images/{image_id}/members"

    def add(n: int) -> Any:
        return api.post(members, json={"member": f"proj-{n}"}, headers=OWNER)

    assert await statuses_of([add(n) for n in range(30)]) == {200: 10, 413: 20}
    listed = (await (await api.get(members, headers=OWNER)).json())["members"]
    assert len(listed) == 10
    # Each refused add changed nothing: one event per member added, no more.
    assert await event_count(container, image_id) == before + 10
