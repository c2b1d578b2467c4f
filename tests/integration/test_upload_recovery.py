"""Uploads of processes that stopped are failed back to queued, their bytes removed."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

from catalog.events import EventMetadata, ImageCreated
from catalog.image import Image
from infra.bootstrap import Container
from infra.recovery import beat, recover_once
from tests.integration.conftest import stored_files

LEASE = timedelta(seconds=30)


async def some_bytes() -> AsyncIterator[bytes]:
    yield b"partial"


async def saving_image(container: Container, node_id: str, staging: bool = False) -> uuid.UUID:
    """An image saving (or staging) on `node_id`, with some bytes at its recorded location."""
    now = datetime.now(UTC)
    created = ImageCreated(disk_format="raw", container_format="bare")
    image = Image.create(uuid.uuid4(), created, now)
    store = container.stores.named("file")
    location = store.location_for(str(image.id))
    image.start_upload(
        store="file",
        location=location,
        expected_size=None,
        now=now,
        node_id=node_id,
        staging=staging,
    )
    await container.bus.context.images.save(image, EventMetadata())
    await store.add(str(image.id), some_bytes())
    return image.id


async def test_an_upload_of_a_dead_node_is_failed_and_its_bytes_removed(
    container: Container,
) -> None:
    image_id = await saving_image(container, "node-that-died")
    assert len(stored_files(container)) == 1

    assert await recover_once(container, LEASE) == [image_id]

    image = await container.bus.context.images.load(image_id)
    assert image.status == "queued"
    assert stored_files(container) == []
    last = (await container.log.load_stream(image_id))[-1]
    assert last.event_type == "image.upload_failed"
    assert "admin" in last.metadata.actor.roles
    assert await recover_once(container, LEASE) == []


async def test_a_staging_of_a_dead_node_is_failed_and_its_bytes_removed(
    container: Container,
) -> None:
    image_id = await saving_image(container, "node-that-died", staging=True)
    assert (await container.bus.context.images.load(image_id)).status == "uploading"

    assert await recover_once(container, LEASE) == [image_id]

    assert (await container.bus.context.images.load(image_id)).status == "queued"
    assert stored_files(container) == []


async def test_uploads_of_live_nodes_are_left_alone(container: Container) -> None:
    own = await saving_image(container, container.node_id)
    await beat(container)

    with container.bus.context.streaming_here.streaming(own):
        assert await recover_once(container, LEASE) == []

    assert (await container.bus.context.images.load(own)).status == "saving"
    assert len(stored_files(container)) == 1


async def test_an_upload_this_process_no_longer_streams_is_failed(container: Container) -> None:
    """Its end could not be recorded (the database was down when it came): nothing will
    record it but recovery, although the process that streamed it still runs."""
    own = await saving_image(container, container.node_id)
    await beat(container)

    assert await recover_once(container, LEASE) == [own]

    assert (await container.bus.context.images.load(own)).status == "queued"
    assert stored_files(container) == []
