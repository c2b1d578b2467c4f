"""An upload whose client goes away midway leaves the image queued and no bytes behind."""

from __future__ import annotations

import asyncio
import uuid

from infra.bootstrap import Container
from tests.conftest import upload_head
from tests.integration.conftest import PROJECT_A, stored_files
from tests.integration.conftest import ApiClient as Client
from tests.waiting import until

DECLARED = 64 << 20
SENT = 5 << 20


async def status_of(api: Client, image_id: str) -> str:
    body = await (await api.get(f"/v2/images/{image_id}", headers=PROJECT_A)).json()
    status: str = body["status"]
    return status


async def status_is(api: Client, image_id: str, status: str) -> bool:
    return await status_of(api, image_id) == status


async def test_a_client_that_disconnects_mid_upload_leaves_the_image_queued(
    api: Client, container: Container
) -> None:
    created = await api.post(
        "/v2/images", json={"disk_format": "raw", "container_format": "bare"}, headers=PROJECT_A
    )
    image_id = (await created.json())["id"]
    _reader, writer = await asyncio.open_connection(api.host, api.port)
    writer.write(upload_head(api.host, image_id, DECLARED, PROJECT_A))
    for _ in range(SENT // (1 << 20)):
        writer.write(b"\0" * (1 << 20))
        await writer.drain()
    # Saving while the bytes flow, then the client vanishes without finishing.
    await until(lambda: status_is(api, image_id, "saving"), "the upload started")
    writer.transport.abort()

    await until(lambda: status_is(api, image_id, "queued"), "the upload failed back to queued")
    assert stored_files(container) == []
    history = [e.event_type for e in await container.log.load_stream(uuid.UUID(image_id))]
    assert history == ["image.created", "image.upload_started", "image.upload_failed"]
