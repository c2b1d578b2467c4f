"""Bytes streaming into the real S3 server, an upload's or a copy's, that someone else ends
while the parts go up: the image deleted, or the transfer failed by a recovery that took its
process for dead. The transfer stops at its next part, its caller is told why (410, 409), and
the bucket holds nothing: no object, no open multipart upload."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientResponse

from catalog.commands.context import WorkingHere
from catalog.commands.recover_uploads import RecoverAbandonedUploads
from catalog.commands.registry import CommandBus
from catalog.events import EventMetadata
from catalog.identity import SYSTEM_ACTOR
from infra.bootstrap import Container
from infra.settings import StoresSettings
from tests.integration.conftest import (
    ADMIN,
    PROJECT_A,
    ApiBuilder,
    ApiClient,
    created_image_id,
    embedded_settings,
    settled,
    uploaded_image_id,
)
from tests.s3_admin import S3Admin

MiB = 1 << 20
# With 5 MiB parts the first part (two 4 MiB blocks) is out after 8 MiB; the transfer then
# waits with a third block in hand, and its last bytes come once the test lets it go on.
BEFORE = 12
AFTER = 2

Answer = asyncio.Task[ClientResponse]
Transfer = Callable[[ApiClient, Container, asyncio.Event], Awaitable[tuple[str, Answer]]]
"""Starts streaming an image's bytes into S3, holding back the last ones until the event is
set; returns the image's id and the task that ends with the HTTP answer."""


@pytest.fixture
async def s3_api(
    tmp_path: Path, sqlite_url: str, api_for: ApiBuilder, s3_admin: S3Admin
) -> tuple[ApiClient, Container]:
    """The embedded catalog with `objects` on the S3 server, in small parts, as its default."""
    options = {**s3_admin.store_options(), "multipart_threshold_mib": 0, "part_size_mib": 5}
    stores = StoresSettings(
        stores="objects:s3,file:file", options={"objects": options}, default_store="objects"
    )
    return await api_for(embedded_settings(tmp_path, sqlite_url, stores=stores))


async def held_back(
    chunks: AsyncIterator[bytes], gate: asyncio.Event
) -> AsyncGenerator[bytes, None]:
    """`chunks`, pausing before the MiB after the first BEFORE until `gate` is set."""
    sent = 0
    async for chunk in chunks:
        if sent >= BEFORE * MiB:
            await gate.wait()
        sent += len(chunk)
        yield chunk


async def upload(api: ApiClient, container: Container, gate: asyncio.Event) -> tuple[str, Answer]:
    image_id = await created_image_id(api)

    async def body() -> AsyncIterator[bytes]:
        for _ in range(BEFORE + AFTER):
            yield bytes(MiB)

    headers = {**PROJECT_A, "Content-Type": "application/octet-stream"}
    put = api.put(f"/v2/images/{image_id}/file", data=held_back(body(), gate), headers=headers)
    return image_id, asyncio.create_task(put)


async def copy(api: ApiClient, container: Container, gate: asyncio.Event) -> tuple[str, Answer]:
    headers = {**PROJECT_A, "X-Image-Meta-Store": "file"}
    image_id = await uploaded_image_id(api, bytes((BEFORE + AFTER) * MiB), headers)
    source = container.stores.named("file").driver
    read = source.get

    def gated_read(location: str, **kwargs: Any) -> AsyncGenerator[bytes, None]:
        return held_back(read(location, **kwargs), gate)

    source.get = gated_read  # type: ignore[method-assign]
    body = {"method": {"name": "copy-image"}, "stores": ["objects"]}
    post = api.post(f"/v2/images/{image_id}/import", json=body, headers=ADMIN)
    return image_id, asyncio.create_task(post)


async def delete_image(api: ApiClient, container: Container, image_id: str) -> None:
    deleted = await api.delete(f"/v2/images/{image_id}", headers=PROJECT_A)
    assert deleted.status == 204


async def recover(api: ApiClient, container: Container, image_id: str) -> None:
    # As another process that took this one for dead would: no heartbeat counts, and it
    # streams nothing itself.
    elsewhere = replace(container.bus.context, node_id="another-node", streaming_here=WorkingHere())
    command = RecoverAbandonedUploads(candidates=[uuid.UUID(image_id)], live_nodes=frozenset())
    await CommandBus(elsewhere).dispatch(command, EventMetadata(actor=SYSTEM_ACTOR))


@pytest.mark.s3
@pytest.mark.parametrize(
    ("transfer", "end", "status", "image_status"),
    [
        (upload, delete_image, 410, "deleted"),
        (upload, recover, 409, "queued"),
        # A copy answers once begun: how it ended is its task's (below).
        (copy, delete_image, 202, "deleted"),
        (copy, recover, 202, "active"),
    ],
)
async def test_a_transfer_ended_by_another_stops_and_leaves_nothing(
    s3_api: tuple[ApiClient, Container],
    s3_admin: S3Admin,
    transfer: Transfer,
    end: Callable[[ApiClient, Container, str], Awaitable[None]],
    status: int,
    image_status: str,
) -> None:
    api, container = s3_api
    gate = asyncio.Event()
    image_id, answer = await transfer(api, container, gate)
    await asyncio.to_thread(s3_admin.wait_for_a_part, image_id)
    await end(api, container, image_id)
    gate.set()

    response = await answer
    assert response.status == status, await response.text()
    await settled(api)
    image = await container.bus.context.images.load(uuid.UUID(image_id))
    assert (image.status, image.copies) == (image_status, {})
    assert await asyncio.to_thread(s3_admin.keys, image_id) == []
    assert await asyncio.to_thread(s3_admin.uploads, image_id) == []
