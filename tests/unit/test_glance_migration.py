"""What a migration from Glance records: an image's first events, then only what changed in
Glance between two runs, compared with what the last run saw."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from catalog.errors import CatalogError
from catalog.events import (
    DomainEvent,
    ImageDeactivated,
    ImageDeleted,
    ImageDeletePending,
    ImageGlanceSynced,
    ImageLocationAdded,
    ImageMemberAdded,
    ImageMemberRemoved,
    ImageMemberStatusChanged,
    ImageMigrated,
    ImageUpdated,
)
from catalog.events.glance_state import GlanceImage, GlanceLocation, GlanceMember
from catalog.image import Image, ImageStatus

CREATED = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
CHANGED = CREATED + timedelta(days=30)
NOW = datetime(2026, 1, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)
FILE = GlanceLocation(url="file:///glance/images/x", store="fast", metadata={"store": "fast"})
ACTIVE = GlanceImage(
    status="active",
    name="ubuntu",
    disk_format="raw",
    container_format="bare",
    owner="p1",
    size=10,
    checksum="c" * 32,
    os_hash_algo="sha512",
    os_hash_value="h" * 128,
    properties={"os_distro": "ubuntu", "color": "blue"},
    tags=("base",),
    members=(GlanceMember(member="p2", status="pending", created_at=CREATED, updated_at=CREATED),),
    locations=(FILE,),
    created_at=CREATED,
    updated_at=CREATED,
)


def migrated(glance: GlanceImage = ACTIVE) -> Image:
    image = Image.migrate(uuid.uuid4(), glance, NOW, HOUR)
    image.pending = []
    return image


def followed(image: Image, glance: GlanceImage) -> list[str]:
    """The types of the events recorded for Glance's change."""
    image.follow_glance(glance, NOW, HOUR)
    return [new.event.event_type for new in image.pending]


def types(*kinds: type[DomainEvent]) -> list[str]:
    return [kind.event_type for kind in kinds]


def test_a_migrated_image_is_as_glance_has_it_with_glance_s_times() -> None:
    image = migrated()
    assert image.status is ImageStatus.ACTIVE
    assert (image.name, image.owner, image.size, image.checksum) == ("ubuntu", "p1", 10, "c" * 32)
    assert (image.created_at, image.updated_at) == (CREATED, CREATED)
    assert image.members == {"p2": "pending"}
    assert [(loc.store, loc.url) for loc in image.locations] == [("fast", FILE.url)]


def test_an_image_pending_deletion_keeps_its_data_for_the_scrubber() -> None:
    went = CHANGED
    glance = ACTIVE.model_copy(update={"status": "pending_delete", "deleted_at": went})
    image = Image.migrate(uuid.uuid4(), glance, NOW, HOUR)
    assert [new.event.event_type for new in image.pending] == types(
        ImageMigrated, ImageDeletePending
    )
    assert image.deletion is not None
    assert image.deletion.scrub_after == went + HOUR
    assert image.deletion.locations == (FILE.url,)


def test_nothing_changed_records_nothing() -> None:
    assert followed(migrated(), ACTIVE) == []


def test_changed_attributes_properties_and_tags_are_one_update() -> None:
    now = ACTIVE.model_copy(
        update={
            "name": "ubuntu-24",
            "properties": {"os_distro": "ubuntu", "size_class": "small"},
            "tags": ("base", "lts"),
            "updated_at": CHANGED,
        }
    )
    image = migrated()
    assert followed(image, now) == types(ImageUpdated, ImageGlanceSynced)
    update = image.pending[0].event
    assert isinstance(update, ImageUpdated)
    assert update.attributes == {"name": "ubuntu-24"}
    assert (update.properties, update.removed_properties) == ({"size_class": "small"}, ("color",))
    assert update.tags == ("base", "lts")
    assert image.updated_at == CHANGED  # Glance's time of the change


def test_members_follow_glance() -> None:
    p3 = GlanceMember(member="p3", status="accepted", created_at=CHANGED, updated_at=CHANGED)
    now = ACTIVE.model_copy(update={"members": (p3,), "updated_at": CHANGED})
    image = migrated()
    assert followed(image, now) == types(
        ImageMemberAdded, ImageMemberStatusChanged, ImageMemberRemoved, ImageGlanceSynced
    )
    assert image.members == {"p3": "accepted"}


def test_data_that_came_in_glance_makes_the_image_active() -> None:
    queued = ACTIVE.model_copy(
        update={"status": "queued", "size": None, "checksum": None, "locations": ()}
    )
    image = migrated(queued)
    assert followed(image, ACTIVE) == types(ImageLocationAdded, ImageGlanceSynced)
    assert (image.status, image.size) == (ImageStatus.ACTIVE, 10)


def test_data_that_came_to_an_image_deactivated_since_leaves_it_deactivated() -> None:
    queued = ACTIVE.model_copy(
        update={"status": "queued", "size": None, "checksum": None, "locations": ()}
    )
    image = migrated(queued)
    deactivated = ACTIVE.model_copy(update={"status": "deactivated"})
    assert followed(image, deactivated) == types(
        ImageLocationAdded, ImageDeactivated, ImageGlanceSynced
    )
    assert image.status is ImageStatus.DEACTIVATED


def test_status_changes_are_the_catalog_s_events() -> None:
    deactivated = ACTIVE.model_copy(update={"status": "deactivated"})
    assert followed(migrated(), deactivated) == types(ImageDeactivated, ImageGlanceSynced)
    deleted = ACTIVE.model_copy(update={"status": "deleted", "locations": ()})
    assert followed(migrated(), deleted) == types(ImageDeleted, ImageGlanceSynced)


def test_a_change_the_catalog_cannot_follow_is_refused() -> None:
    with pytest.raises(CatalogError, match="from active to killed"):
        migrated().follow_glance(ACTIVE.model_copy(update={"status": "killed"}), NOW, HOUR)


def test_an_image_that_did_not_come_from_glance_is_not_followed() -> None:
    image = Image(uuid.uuid4())
    with pytest.raises(CatalogError, match="did not come from Glance"):
        image.follow_glance(ACTIVE, NOW, HOUR)


def test_an_image_deleted_in_the_catalog_since_stays_deleted() -> None:
    image = migrated()
    image.delete(NOW, delayed=True)
    image.pending = []
    deactivated = ACTIVE.model_copy(update={"status": "deactivated", "name": "renamed"})
    assert followed(image, deactivated) == []
    assert image.status is ImageStatus.PENDING_DELETE
