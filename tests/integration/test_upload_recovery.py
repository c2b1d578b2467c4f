"""Uploads of processes that stopped are failed back to queued, their bytes removed."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from catalog.events import EventMetadata, ImageCreated, ImageUploaded
from catalog.image import Image
from infra import bootstrap
from infra.bootstrap import Container
from infra.recovery import beat, recover_once
from infra.settings import StoresSettings
from tests.integration.conftest import embedded_settings, stored_files
from tests.s3_admin import S3Admin

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

    with container.bus.context.streaming_here.working_on(own):
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


@pytest.fixture
async def s3_container(
    tmp_path: Path, sqlite_url: str, s3_admin: S3Admin
) -> AsyncIterator[Container]:
    """The embedded catalog with a second store, `objects`, on the real S3 server."""
    stores = StoresSettings(
        stores="file:file,objects:s3", options={"objects": s3_admin.store_options()}
    )
    built = await bootstrap.build(embedded_settings(tmp_path, sqlite_url, stores=stores))
    yield built
    await built.close()


async def streaming_into_s3(container: Container, transfer: str) -> uuid.UUID:
    """An image whose bytes were streaming into the S3 store (an upload, a staging, or a copy)
    for a process that died: its location recorded, nothing more."""
    now = datetime.now(UTC)
    image = Image.create(
        uuid.uuid4(), ImageCreated(disk_format="raw", container_format="bare"), now
    )
    location = container.stores.named("objects").location_for(str(image.id))
    if transfer == "copy":
        stored = await container.stores.named("file").add(str(image.id), some_bytes())
        image.start_upload(store="file", location=stored.location, expected_size=None, now=now)
        recorded = asdict(stored)
        del recorded["digests"]  # the digests asked for beside the image's own: none here
        image.complete_upload(ImageUploaded(store="file", **recorded), now)
        image.start_copy("objects", location, "node-that-died", now)
    else:
        image.start_upload(
            store="objects",
            location=location,
            expected_size=None,
            now=now,
            node_id="node-that-died",
            staging=transfer == "staging",
        )
    await container.bus.context.images.save(image, EventMetadata())
    return image.id


@pytest.mark.s3
@pytest.mark.parametrize("transfer", ["upload", "staging", "copy"])
async def test_a_multipart_upload_of_a_dead_node_is_aborted(
    s3_container: Container, s3_admin: S3Admin, transfer: str
) -> None:
    image_id = await streaming_into_s3(s3_container, transfer)
    key = str(image_id)
    await asyncio.to_thread(s3_admin.open_upload, key, parts=1)

    assert await recover_once(s3_container, LEASE) == ([] if transfer == "copy" else [image_id])

    image = await s3_container.bus.context.images.load(image_id)
    assert image.status == ("active" if transfer == "copy" else "queued")
    assert image.copies == {}
    # No object, and no upload holding parts out of sight.
    assert await asyncio.to_thread(s3_admin.keys, key) == []
    assert await asyncio.to_thread(s3_admin.uploads, key) == []
