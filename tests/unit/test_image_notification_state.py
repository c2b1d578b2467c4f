"""The state image notifications are built from (`ImageState`) tells the image as the
aggregate's own fold does, after every event of every type an image's stream holds."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from catalog.events import (
    DomainEvent,
    ImageCopied,
    ImageCopyFailed,
    ImageCopyStarted,
    ImageCreated,
    ImageDataSent,
    ImageDeactivated,
    ImageDeleted,
    ImageDeletePending,
    ImageGlanceSynced,
    ImageImported,
    ImageImportEnded,
    ImageImportStarted,
    ImageLocationAdded,
    ImageLocationRejected,
    ImageLocationRemoved,
    ImageMemberAdded,
    ImageMemberRemoved,
    ImageMemberStatusChanged,
    ImageMigrated,
    ImageReactivated,
    ImageRestored,
    ImageScrubbed,
    ImageScrubFailed,
    ImageScrubStarted,
    ImageStaged,
    ImageTagAdded,
    ImageTagRemoved,
    ImageUpdated,
    ImageUploadClaimGrown,
    ImageUploadFailed,
    ImageUploadStarted,
)
from catalog.events.glance_state import GlanceImage, GlanceLocation, GlanceMember
from catalog.events.image import IMAGE_EVENTS
from catalog.image import Image
from catalog.notifications.base import isotime
from catalog.notifications.image_state import ImageState
from tests.unit.test_glance_notifications import AT, UPLOADED

HASHES = {"checksum": "d" * 32, "os_hash_algo": "sha512", "os_hash_value": "e" * 128}
LATER = AT + timedelta(days=1)
GLANCE = GlanceImage(
    status="active",
    name="from-glance",
    disk_format="qcow2",
    container_format="bare",
    visibility="private",
    os_hidden=True,
    min_ram=256,
    owner="proj-g",
    size=7,
    virtual_size=70,
    checksum="f" * 32,
    properties={"os_distro": "debian"},
    tags=("z", "a"),
    members=(GlanceMember(member="proj-m", status="accepted", created_at=AT, updated_at=AT),),
    locations=(GlanceLocation(url="file:///g", store="file"),),
    created_at=AT - timedelta(days=30),
    updated_at=AT - timedelta(days=2),
)
COPY = {"store": "s3", "location": "s3://x"}
MADE_HERE: tuple[DomainEvent, ...] = (
    ImageCreated(name="n", owner="proj-a", tags=("b", "a"), properties={"p": "1", "q": "2"}),
    ImageLocationRejected(store="web", location="https://x", reason="hash differs"),
    ImageUploadStarted(store="file", location="file:///x", staging=True),
    ImageUploadClaimGrown(reserved=10),
    ImageStaged(size=5, virtual_size=50, **HASHES),
    ImageImportStarted(task_id="t", stores=("file",), brings_data=True),
    ImageImported(size=5, virtual_size=50, **HASHES),
    ImageImportEnded(task_id="t"),
    ImageImportStarted(task_id="t2", stores=("s3",)),
    ImageCopyStarted(**COPY),
    ImageCopyFailed(**COPY, reason="unreachable"),
    ImageCopyStarted(**COPY),
    ImageCopied(**COPY),
    ImageLocationRemoved(**COPY),
    ImageUpdated(
        attributes={"name": "m", "os_hidden": True, "min_disk": 3, "visibility": "public"},
        properties={"q": "3", "r": "4"},
        removed_properties=("p", "r"),
        tags=("c",),
    ),
    ImageTagAdded(tag="a"),
    ImageTagRemoved(tag="c"),
    ImageLocationAdded(store="web", location="https://y", size=6, **HASHES),
    ImageMemberAdded(member="proj-b"),
    ImageMemberStatusChanged(member="proj-b", status="accepted"),
    ImageMemberRemoved(member="proj-b"),
    ImageDeactivated(),
    ImageReactivated(),
    ImageDeletePending(locations=("file:///x",), previous_status="active", scrub_after=LATER),
    ImageScrubFailed(
        store="file", location="file:///x", reason="busy", attempts=1, retry_after=LATER
    ),
    ImageRestored(status="deactivated"),
    ImageDeletePending(locations=("file:///x",), previous_status="deactivated", scrub_after=LATER),
    ImageScrubStarted(),
    ImageScrubbed(),
)
UPLOADED_HERE: tuple[DomainEvent, ...] = (
    ImageCreated(name="u"),
    ImageUploadStarted(store="file", location="file:///x"),
    ImageUploadFailed(reason="client gone", location="file:///x"),
    ImageUploadStarted(store="file", location="file:///x"),
    UPLOADED,
    ImageDeleted(locations=("file:///x",)),
)
FROM_GLANCE: tuple[DomainEvent, ...] = (
    ImageMigrated(source="glance", glance=GLANCE),
    ImageMemberStatusChanged(member="proj-m", status="rejected"),
    ImageGlanceSynced(glance=GLANCE.model_copy(update={"updated_at": AT - timedelta(days=1)})),
    ImageUpdated(attributes={"owner": "proj-h"}),
)
LIVES = [
    pytest.param(MADE_HERE, id="made here"),
    pytest.param(UPLOADED_HERE, id="uploaded"),
    pytest.param(FROM_GLANCE, id="from Glance"),
]


def as_the_aggregate_tells_it(image: Image) -> dict[str, Any]:
    """Glance's image payload, from the aggregate (staged bytes show their sizes until they are
    the image's data)."""
    staged = image.staged
    virtual_size = image.virtual_size
    if virtual_size is None and staged is not None:
        virtual_size = staged.virtual_size
    return {
        "id": str(image.id),
        "name": image.name,
        "status": str(image.status),
        "created_at": isotime(image.created_at),
        "updated_at": isotime(image.updated_at),
        "min_disk": image.min_disk,
        "min_ram": image.min_ram,
        "protected": image.protected,
        "checksum": image.checksum,
        "owner": image.owner,
        "disk_format": image.disk_format,
        "container_format": image.container_format,
        "size": image.size,
        "virtual_size": virtual_size,
        "is_public": image.visibility == "public",
        "visibility": image.visibility,
        "properties": image.properties,
        "tags": sorted(image.tags),
        "deleted": False,
        "deleted_at": None,
    }


def at(index: int) -> datetime:
    return datetime(2026, 12, 1, tzinfo=UTC) + timedelta(minutes=index)


@pytest.mark.parametrize("life", LIVES)
def test_the_state_tells_the_image_as_its_aggregate_does_after_each_event(
    life: tuple[DomainEvent, ...],
) -> None:
    image_id = uuid.uuid4()
    image, state = Image(image_id), ImageState(image_id)
    for index, event in enumerate(life):
        image.apply(event, at(index))
        state.apply(event, at(index))

        assert state.payload() == as_the_aggregate_tells_it(image), type(event).__name__
        assert state.members == image.members


def test_every_type_of_an_images_own_events_is_told() -> None:
    told = {type(event) for lives in (MADE_HERE, UPLOADED_HERE, FROM_GLANCE) for event in lives}
    # A download has a stream of its own: its notification is no image's state.
    assert told == set(IMAGE_EVENTS) - {ImageDataSent}


def test_payloads_built_before_a_change_keep_what_they_told() -> None:
    state = ImageState(uuid.uuid4())
    state.apply(ImageCreated(properties={"p": "1"}), AT)
    before = state.payload()
    state.apply(ImageUpdated(properties={"p": "2"}, removed_properties=()), AT)

    assert before["properties"] == {"p": "1"}
    assert state.payload()["properties"] == {"p": "2"}
