"""The Image aggregate: its status machine and rules, without any I/O."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from catalog.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    Gone,
    InvalidStatusTransition,
    NotFound,
    TooLarge,
)
from catalog.events import (
    ImageCopied,
    ImageCreated,
    ImageDeleted,
    ImageDeletePending,
    ImageImported,
    ImageLocationAdded,
    ImageLocationRemoved,
    ImageRestored,
    ImageScrubbed,
    ImageScrubFailed,
    ImageScrubStarted,
    ImageStaged,
    ImageUpdated,
    ImageUploaded,
    ImageUploadFailed,
    ImageUploadStarted,
)
from catalog.image import DataLocation, Image, ImageStatus
from catalog.image_patch import PatchOperation

T0 = datetime(2026, 1, 1, tzinfo=UTC)
LOCATION = "file:///data/images/x"


def uploaded(location: str = LOCATION) -> ImageUploaded:
    return ImageUploaded(
        store="file",
        location=location,
        size=3,
        checksum="c" * 32,
        os_hash_algo="sha512",
        os_hash_value="h" * 128,
    )


def new_image(**attributes: object) -> Image:
    defaults: dict[str, object] = {"disk_format": "raw", "container_format": "bare", "owner": "p"}
    image = Image.create(uuid.uuid4(), ImageCreated(**{**defaults, **attributes}), T0)
    image.pending = []
    return image


def status(image: Image) -> ImageStatus | None:
    """Read through a call, so the type checker does not carry an earlier check forward."""
    return image.status


def saving_image() -> Image:
    image = new_image()
    image.start_upload(store="file", location=LOCATION, expected_size=3, now=T0)
    image.pending = []
    return image


def test_a_new_image_is_queued_and_records_its_creation() -> None:
    image = Image.create(uuid.uuid4(), ImageCreated(name="n", owner="p"), T0)
    assert image.status is ImageStatus.QUEUED
    assert image.version == 1
    assert [type(e.event) for e in image.pending] == [ImageCreated]


def test_upload_goes_queued_saving_active() -> None:
    image = new_image()
    image.start_upload(store="file", location=LOCATION, expected_size=None, now=T0)
    assert status(image) is ImageStatus.SAVING
    image.complete_upload(uploaded(), T0 + timedelta(seconds=1))
    assert status(image) is ImageStatus.ACTIVE
    assert image.locations == [DataLocation("file", LOCATION)]
    assert [type(e.event) for e in image.pending] == [ImageUploadStarted, ImageUploaded]
    assert image.updated_at == T0 + timedelta(seconds=1)


def test_a_failed_upload_returns_the_image_to_queued() -> None:
    image = saving_image()
    image.fail_upload("client went away", T0)
    assert image.status is ImageStatus.QUEUED
    assert image.upload_location is None
    failed = image.pending[-1].event
    assert isinstance(failed, ImageUploadFailed)
    assert failed.location == LOCATION


def test_upload_needs_both_formats() -> None:
    image = new_image(disk_format=None)
    with pytest.raises(BadRequest, match="disk_format, container_format must be set"):
        image.start_upload(store="file", location=LOCATION, expected_size=None, now=T0)
    assert image.pending == []


@pytest.mark.parametrize("setup", ["active", "saving"])
def test_upload_only_from_queued(setup: str) -> None:
    image = saving_image()
    if setup == "active":
        image.complete_upload(uploaded(), T0)
    with pytest.raises(InvalidStatusTransition, match=f"from {setup} to saving"):
        image.start_upload(store="file", location=LOCATION, expected_size=None, now=T0)


def test_completing_an_upload_of_a_deleted_image_is_gone() -> None:
    image = saving_image()
    image.delete(T0)
    with pytest.raises(Gone):
        image.complete_upload(uploaded(), T0)


def test_delete_lists_every_location_including_an_upload_in_flight() -> None:
    image = saving_image()
    image.delete(T0)
    deleted = image.pending[-1].event
    assert isinstance(deleted, ImageDeleted)
    assert deleted.locations == (LOCATION,)
    assert image.status is ImageStatus.DELETED


def test_a_protected_image_cannot_be_deleted() -> None:
    image = new_image(protected=True)
    with pytest.raises(Forbidden, match="is protected and cannot be deleted"):
        image.delete(T0)
    assert image.pending == []


def test_a_deleted_image_cannot_be_deleted_again() -> None:
    image = new_image()
    image.delete(T0)
    with pytest.raises(NotFound):
        image.delete(T0)


def test_add_location_activates_a_queued_image() -> None:
    image = new_image()
    image.add_location(
        ImageLocationAdded(
            store="s3",
            location="s3://b/k",
            size=1,
            checksum="c" * 32,
            os_hash_algo="sha512",
            os_hash_value="h" * 128,
        ),
        T0,
    )
    assert image.status is ImageStatus.ACTIVE
    assert image.locations == [DataLocation("s3", "s3://b/k")]


def test_replaying_the_history_gives_the_same_state() -> None:
    image = new_image()
    image.pending = []
    original = Image.create(image.id, ImageCreated(disk_format="raw", container_format="bare"), T0)
    original.start_upload(store="file", location=LOCATION, expected_size=None, now=T0)
    original.complete_upload(uploaded(), T0)
    replayed = Image.from_history(original.id, original.pending)
    assert (replayed.status, replayed.version, replayed.locations) == (
        original.status,
        original.version,
        original.locations,
    )


def test_an_upload_is_abandoned_only_when_its_node_is_gone() -> None:
    image = new_image()
    image.start_upload(store="file", location=LOCATION, expected_size=None, now=T0, node_id="n1")
    assert not image.upload_abandoned(frozenset({"n1", "n2"}))
    assert image.upload_abandoned(frozenset({"n2"}))
    image.fail_upload("gone", T0)
    assert not image.upload_abandoned(frozenset())


STAGED = ImageStaged(size=3, checksum="c", os_hash_algo="sha512", os_hash_value="h")


def staging_image(node_id: str | None = "n1") -> Image:
    image = new_image()
    image.start_upload(
        store="file", location=LOCATION, expected_size=None, now=T0, node_id=node_id, staging=True
    )
    return image


def import_staged(image: Image, now: datetime) -> None:
    """glance-direct into the store the bytes were staged in, as its import's task decides it:
    the lock taken, the staged bytes recorded as copied where they are, the image active, the
    lock released."""
    assert image.upload_store is not None
    assert image.upload_location is not None
    store, location = image.upload_store, image.upload_location
    image.begin_import("task", (store,), now, brings_data=True)
    image.start_copy(store, location, None, now)
    image.complete_copy(store, now)
    image.complete_import(now)
    image.end_import("task", "", now)


def test_staging_goes_queued_uploading_and_the_import_makes_it_active() -> None:
    image = staging_image()
    assert status(image) is ImageStatus.UPLOADING
    assert image.transfer_in_progress
    image.complete_staging(STAGED, T0)
    assert status(image) is ImageStatus.UPLOADING
    assert not image.transfer_in_progress
    image.pending = []
    import_staged(image, T0)
    assert status(image) is ImageStatus.ACTIVE
    [copied] = [new.event for new in image.pending if isinstance(new.event, ImageCopied)]
    [imported] = [new.event for new in image.pending if isinstance(new.event, ImageImported)]
    assert (copied.location, imported.size, imported.checksum) == (LOCATION, 3, "c")
    assert Image.from_history(image.id, image.pending).locations == [DataLocation("file", LOCATION)]


def test_only_a_staging_in_progress_can_be_abandoned() -> None:
    image = staging_image()
    assert image.upload_abandoned(frozenset({"n2"}))
    image.complete_staging(STAGED, T0)
    # Staged bytes wait for their import, whoever staged them: nothing to recover.
    assert not image.upload_abandoned(frozenset())


def test_a_failed_staging_returns_the_image_to_queued() -> None:
    image = staging_image()
    image.fail_upload("cut", T0)
    assert status(image) is ImageStatus.QUEUED
    assert image.data_locations == []
    with pytest.raises(Conflict, match="needs to be staged"):
        image.begin_import("task", ("file",), T0, brings_data=True)


def test_staged_bytes_are_deleted_with_the_image() -> None:
    image = staging_image()
    image.complete_staging(STAGED, T0)
    image.delete(T0)
    deleted = image.pending[-1].event
    assert isinstance(deleted, ImageDeleted)
    assert deleted.locations == (LOCATION,)


def test_tags_are_a_set_and_removing_a_missing_one_is_not_found() -> None:
    image = new_image(tags=("a",))
    image.add_tag("a", quota=10, now=T0)
    assert image.pending == []
    image.add_tag("b", quota=10, now=T0)
    assert image.tags == {"a", "b"}
    image.remove_tag("a", T0)
    with pytest.raises(NotFound):
        image.remove_tag("a", T0)
    assert image.tags == {"b"}


def test_the_tag_quota_counts_the_tag_being_added() -> None:
    image = new_image(tags=("a", "b"))
    with pytest.raises(TooLarge, match="Attempted: 3, Maximum: 2"):
        image.add_tag("c", quota=2, now=T0)


def test_deactivation_goes_between_active_and_deactivated_only() -> None:
    image = saving_image()
    with pytest.raises(Forbidden, match="status 'saving'"):
        image.deactivate(T0)
    image.complete_upload(uploaded(), T0)
    image.deactivate(T0)
    assert status(image) is ImageStatus.DEACTIVATED
    image.deactivate(T0)
    image.reactivate(T0)
    image.reactivate(T0)
    assert status(image) is ImageStatus.ACTIVE
    assert len(image.pending) == 3


def op(kind: str, name: str, value: object = None) -> PatchOperation:
    return PatchOperation.model_validate({"op": kind, "path": {"name": name}, "value": value})


def test_an_update_is_one_event_or_none_at_all() -> None:
    image = new_image(name="a", properties={"k": "v"})
    image.update(
        [op("replace", "name", "b"), op("remove", "k"), op("add", "j", "w")],
        tag_quota=9,
        property_quota=9,
        now=T0,
    )
    [recorded] = image.pending
    assert isinstance(recorded.event, ImageUpdated)
    assert recorded.event.attributes == {"name": "b"}
    assert recorded.event.removed_properties == ("k",)
    assert (image.name, image.properties) == ("b", {"j": "w"})
    image.pending = []
    image.update([op("replace", "name", "b")], tag_quota=9, property_quota=9, now=T0)
    assert image.pending == []


def test_a_failing_operation_leaves_the_image_as_it_was() -> None:
    image = new_image(name="a")
    with pytest.raises(Conflict):
        image.update(
            [op("replace", "name", "b"), op("remove", "missing")],
            tag_quota=9,
            property_quota=9,
            now=T0,
        )
    assert (image.name, image.pending) == ("a", [])


def test_membership_rules() -> None:
    image = new_image()
    image.add_member("b", quota=1, now=T0)
    with pytest.raises(Conflict, match="duplicated"):
        image.add_member("b", quota=1, now=T0)
    with pytest.raises(TooLarge, match="Attempted: 2, Maximum: 1"):
        image.add_member("c", quota=1, now=T0)
    image.change_member_status("b", "accepted", T0)
    image.change_member_status("b", "accepted", T0)
    assert image.members == {"b": "accepted"}
    assert len(image.pending) == 2
    image.remove_member("b", T0)
    with pytest.raises(NotFound, match="b not found in the member list"):
        image.remove_member("b", T0)
    private = new_image(visibility="private")
    with pytest.raises(Forbidden, match="Not allowed to create members"):
        private.add_member("b", quota=9, now=T0)


def _active_in(*stores: str) -> Image:
    image = new_image()
    image.start_upload(store=stores[0], location=f"{stores[0]}://one", expected_size=None, now=T0)
    image.complete_upload(
        uploaded(f"{stores[0]}://one").model_copy(update={"store": stores[0]}), T0
    )
    for store in stores[1:]:
        # A second copy, as copying to another store records it.
        image.apply(uploaded(f"{store}://copy").model_copy(update={"store": store}), T0)
    image.pending = []
    return image


def test_removing_one_of_several_copies_keeps_the_others() -> None:
    image = _active_in("fast", "cheap")
    removed = image.remove_location("cheap", T0)
    assert removed == DataLocation("cheap", "cheap://copy")
    assert image.locations == [DataLocation("fast", "fast://one")]
    assert image.status is ImageStatus.ACTIVE


def test_the_only_copy_cannot_be_removed() -> None:
    with pytest.raises(Forbidden, match="only store containing it"):
        _active_in("fast").remove_location("fast", T0)


def test_removing_from_a_store_without_a_copy_is_not_found() -> None:
    with pytest.raises(NotFound, match="is not stored in store other"):
        _active_in("fast", "cheap").remove_location("other", T0)


def test_copies_are_removed_only_from_active_images() -> None:
    image = _active_in("fast", "cheap")
    image.deactivate(T0)
    with pytest.raises(Conflict, match="status is not 'active'"):
        image.remove_location("cheap", T0)


def test_a_copy_adds_a_store_once_it_is_complete() -> None:
    image = _active_in("fast")
    image.start_copy("cheap", "cheap://copy", "node-1", T0)
    assert image.locations == [DataLocation("fast", "fast://one")]
    assert image.data_locations == ["fast://one", "cheap://copy"]  # deleting now takes both
    image.complete_copy("cheap", T0)
    assert image.locations[-1] == DataLocation("cheap", "cheap://copy")
    assert image.copies == {}


def test_a_failed_copy_leaves_the_image_as_it_was() -> None:
    image = _active_in("fast")
    image.start_copy("cheap", "cheap://copy", "node-1", T0)
    assert list(image.abandoned_copies(frozenset({"node-2"}))) == ["cheap"]
    assert image.abandoned_copies(frozenset({"node-1"})) == {}
    image.fail_copy("cheap", "gone", T0)
    assert (image.locations, image.copies) == ([DataLocation("fast", "fast://one")], {})


def test_copies_need_an_active_image_and_a_store_without_the_data() -> None:
    with pytest.raises(Conflict, match="Only images with status active"):
        new_image().start_copy("cheap", "cheap://copy", None, T0)
    image = _active_in("fast")
    with pytest.raises(BadRequest, match="already present at store 'fast'"):
        image.start_copy("fast", "fast://again", None, T0)
    image.start_copy("cheap", "cheap://copy", None, T0)
    with pytest.raises(Conflict, match="already being copied"):
        image.start_copy("cheap", "cheap://copy", None, T0)


# -- delayed delete and scrubbing ------------------------------------------------------------

HOUR = timedelta(hours=1)
FAST, CHEAP = DataLocation("fast", "fast://one"), DataLocation("cheap", "cheap://copy")


def pending_delete(*stores: str, deactivated: bool = False) -> Image:
    image = _active_in(*(stores or ("fast",)))
    if deactivated:
        image.deactivate(T0)
    image.delete(T0, delayed=True, scrub_time=HOUR)
    image.pending = []
    return image


def test_a_delayed_delete_keeps_the_data_for_the_scrubber() -> None:
    image = _active_in("fast", "cheap")
    assert image.delete(T0, delayed=True, scrub_time=HOUR) == []  # no byte goes now
    event = image.pending[-1].event
    assert isinstance(event, ImageDeletePending)
    assert event.locations == ("fast://one", "cheap://copy")
    assert (event.previous_status, event.scrub_after, event.discarded) == ("active", T0 + HOUR, ())
    assert image.status is ImageStatus.PENDING_DELETE
    assert image.gone
    assert image.locations == [FAST, CHEAP]
    assert image.scrub_due_at == T0 + HOUR


def test_a_delayed_delete_of_an_image_without_stored_data_is_immediate() -> None:
    for image in (new_image(), saving_image()):
        image.delete(T0, delayed=True, scrub_time=HOUR)
        assert isinstance(image.pending[-1].event, ImageDeleted)
        assert image.status is ImageStatus.DELETED


def test_a_copy_streaming_when_delayed_delete_comes_ends_and_is_not_restored() -> None:
    image = _active_in("fast")
    image.start_copy("cheap", "cheap://copy", "node-1", T0)
    assert image.delete(T0, delayed=True, scrub_time=HOUR) == ["cheap://copy"]
    event = image.pending[-1].event
    assert isinstance(event, ImageDeletePending)
    assert (event.locations, event.discarded) == (("fast://one",), ("cheap://copy",))
    with pytest.raises(Gone):
        image.complete_copy("cheap", T0)
    image.restore(T0)
    assert (image.locations, image.copies) == ([FAST], {})


ACTIONS_ON_A_LIVE_IMAGE = {
    "delete": lambda i: i.delete(T0, delayed=True),
    "update": lambda i: i.update([], tag_quota=9, property_quota=9, now=T0),
    "add_tag": lambda i: i.add_tag("t", 9, T0),
    "add_member": lambda i: i.add_member("m", 9, T0),
    "deactivate": lambda i: i.deactivate(T0),
    "reactivate": lambda i: i.reactivate(T0),
    "start_copy": lambda i: i.start_copy("cheap", "cheap://copy", None, T0),
    "remove_location": lambda i: i.remove_location("fast", T0),
    "begin_import": lambda i: i.begin_import("task", ("cheap",), T0, brings_data=True),
}


@pytest.mark.parametrize("action", ACTIONS_ON_A_LIVE_IMAGE)
def test_an_image_pending_deletion_is_not_found_by_any_user_action(action: str) -> None:
    image = pending_delete()
    with pytest.raises(NotFound):
        ACTIONS_ON_A_LIVE_IMAGE[action](image)
    assert image.pending == []


@pytest.mark.parametrize("deactivated", [False, True])
def test_restore_returns_the_image_to_its_status_with_its_data(deactivated: bool) -> None:
    image = pending_delete("fast", "cheap", deactivated=deactivated)
    image.restore(T0 + HOUR)
    restored = image.pending[-1].event
    assert isinstance(restored, ImageRestored)
    expected = ImageStatus.DEACTIVATED if deactivated else ImageStatus.ACTIVE
    assert (restored.status, image.status) == (expected.value, expected)
    assert image.locations == [FAST, CHEAP]
    assert image.scrub_due_at is None
    assert not image.gone


def test_restore_is_only_for_an_image_pending_deletion_not_yet_scrubbing() -> None:
    with pytest.raises(NotFound, match="No image found"):
        Image(uuid.uuid4()).restore(T0)
    with pytest.raises(Conflict, match="cannot be restored from status active"):
        _active_in("fast").restore(T0)
    deleted = _active_in("fast")
    deleted.delete(T0)
    with pytest.raises(Conflict, match="cannot be restored from status deleted"):
        deleted.restore(T0)
    image = pending_delete()
    image.start_scrub(T0)
    image.pending = []
    with pytest.raises(Conflict, match="already being scrubbed"):
        image.restore(T0)
    assert image.pending == []


def test_a_scrub_is_fenced_recorded_per_store_and_ends_deleted() -> None:
    image = pending_delete("fast", "cheap")
    with pytest.raises(Conflict, match="has not started"):
        image.record_store_scrubbed(FAST, T0)
    image.start_scrub(T0)
    image.start_scrub(T0)  # a scrub that crashed and runs again starts once
    image.record_store_scrubbed(FAST, T0)
    image.record_store_scrubbed(FAST, T0)  # recorded once, whoever records it
    with pytest.raises(Conflict, match="still has data in store cheap"):
        image.finish_scrub(T0)
    image.record_store_scrubbed(CHEAP, T0)
    image.finish_scrub(T0)
    assert [type(e.event) for e in image.pending] == [
        ImageScrubStarted,
        ImageLocationRemoved,
        ImageLocationRemoved,
        ImageScrubbed,
    ]
    assert (image.status, image.locations) == (ImageStatus.DELETED, [])
    with pytest.raises(NotFound):
        image.delete(T0)
    with pytest.raises(Conflict, match="not pending deletion"):
        image.start_scrub(T0)


def test_a_failed_scrub_is_due_again_at_its_retry_time() -> None:
    image = pending_delete("fast", "cheap")
    image.start_scrub(T0 + HOUR)
    retry = T0 + 2 * HOUR
    image.fail_scrub(FAST, reason="down", attempts=3, retry_after=retry, now=T0 + HOUR)
    failed = image.pending[-1].event
    assert isinstance(failed, ImageScrubFailed)
    assert (failed.store, failed.location, failed.attempts) == ("fast", "fast://one", 3)
    assert image.status is ImageStatus.PENDING_DELETE
    assert image.locations == [FAST, CHEAP]
    assert image.scrub_due_at == retry


def test_replaying_a_deletion_rebuilds_the_same_state() -> None:
    image = Image.create(uuid.uuid4(), ImageCreated(disk_format="raw", container_format="bare"), T0)
    image.start_upload(store="file", location=LOCATION, expected_size=None, now=T0)
    image.complete_upload(uploaded(), T0)
    image.delete(T0, delayed=True, scrub_time=HOUR)
    image.start_scrub(T0 + HOUR)
    image.fail_scrub(image.locations[0], reason="down", attempts=1, retry_after=T0, now=T0)

    replayed = Image.from_history(image.id, image.pending)

    state = ("status", "locations", "deletion", "scrub_started", "scrub_retry_after", "version")
    assert [getattr(replayed, name) for name in state] == [getattr(image, name) for name in state]
