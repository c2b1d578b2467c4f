"""What each event does to the images view, decided once for both ways of applying it.

`ImagesProjection.apply` carries a change out in SQL, one event at a time, inside the appending
transaction; `image_batch.prepare_changes` folds a whole batch in memory and writes each row once
(the rebuild). Both read their orders from `change_of`, so they cannot drift apart: they differ
only in how they read the current row and write the result.

A change is guarded by the image row's version: it applies only to a row older than the event,
which then takes the event's version; tags and members follow the row's guard, so replaying an
old event never undoes a newer one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any, NamedTuple, TypeVar

from catalog.events import (
    DomainEvent,
    ImageCopied,
    ImageCopyFailed,
    ImageCopyStarted,
    ImageCreated,
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
    ImageStaged,
    ImageTagAdded,
    ImageTagRemoved,
    ImageUpdated,
    ImageUploadClaimGrown,
    ImageUploaded,
    ImageUploadFailed,
    ImageUploadStarted,
    RecordedEvent,
    ReplayEvent,
)
from catalog.glance_migration import ATTRIBUTES
from catalog.import_progress import ImportProgress

Derive = Callable[[Any], Any]
"""A column's new value computed from its current one."""

# Changes are NamedTuples, not dataclasses: a rebuild makes one per event, millions of them,
# and a tuple is several times cheaper to build.
_NOTHING: Mapping[str, Any] = MappingProxyType({})


class ReplaceTags(NamedTuple):
    tags: tuple[str, ...]


class AddTag(NamedTuple):
    tag: str


class RemoveTag(NamedTuple):
    tag: str


class AddMember(NamedTuple):
    """A new membership, `pending`; one already there is kept as it is."""

    member: str
    at: datetime


class SetMemberStatus(NamedTuple):
    member: str
    status: str
    at: datetime


class RemoveMember(NamedTuple):
    member: str


FollowUp = ReplaceTags | AddTag | RemoveTag | AddMember | SetMemberStatus | RemoveMember
"""What changes beside the image row, once the row's version guard has let the change in."""


class CreateImage(NamedTuple):
    """A new image row with its tags and members (rows without `image_id`: a migrated
    image's); a row already there (a replay) is left alone."""

    row: dict[str, Any]
    tags: tuple[str, ...]
    members: tuple[dict[str, Any], ...] = ()


class DeleteImage(NamedTuple):
    """The image row goes, with its tags and members."""


class UpdateImage(NamedTuple):
    """Set `values`, and each `derived` column from its current value, on a row older than
    `version`; the row takes `version`, then `then` is applied."""

    version: int
    values: Mapping[str, Any] = _NOTHING
    derived: Mapping[str, Derive] = _NOTHING
    then: FollowUp | None = None


ImageChange = CreateImage | DeleteImage | UpdateImage

Place = RecordedEvent | ReplayEvent
"""Where an event sits and when it happened: all a change needs of the envelope."""

_NO_DATA = dict.fromkeys(
    ("size", "virtual_size", "checksum", "os_hash_algo", "os_hash_value"), None
)


def created_row(recorded: Place, event: ImageCreated) -> dict[str, Any]:
    """The `image` row an `image.created` event makes (its tags go to `image_tag`)."""
    return {
        **_NO_DATA,
        **event.model_dump(exclude={"tags"}),
        "id": recorded.stream_id,
        "status": "queued",
        "locations": [],
        "reserved_bytes": 0,
        "copies_in_progress": 0,
        "created_at": recorded.occurred_at,
        "updated_at": recorded.occurred_at,
        "version": recorded.version,
    }


_Decide = TypeVar("_Decide", bound=Callable[[Place, Any], ImageChange])
# By exact type, one dictionary lookup: a rebuild decides millions of times, and a chain of
# isinstance checks against pydantic classes (ABCs) would cost more than the decisions.
_DECISIONS: dict[type[DomainEvent], Callable[[Place, Any], ImageChange]] = {}


def _decides(*kinds: type[DomainEvent]) -> Callable[[_Decide], _Decide]:
    def register(decide: _Decide) -> _Decide:
        for kind in kinds:
            _DECISIONS[kind] = decide
        return decide

    return register


def change_of(recorded: Place, event: DomainEvent) -> ImageChange | None:
    """What `event` does to its image's view (None: nothing users can see or query)."""
    decide = _DECISIONS.get(type(event))
    return None if decide is None else decide(recorded, event)


@_decides(ImageCreated)
def _created(at: Place, event: ImageCreated) -> ImageChange:
    return CreateImage(created_row(at, event), event.tags)


@_decides(ImageMigrated)
def _migrated(at: Place, event: ImageMigrated) -> ImageChange:
    glance = event.glance
    if glance.status == "deleted":
        return DeleteImage()  # kept in the log (its id is never reused), shown to no one
    row = {
        **glance.model_dump(include={*_NO_DATA, *ATTRIBUTES, "status", "properties"}),
        "id": at.stream_id,
        "locations": [{"url": loc.url, "store": loc.store} for loc in glance.locations],
        "reserved_bytes": 0,
        "copies_in_progress": 0,
        "created_at": glance.created_at,
        "updated_at": glance.updated_at,
        "version": at.version,
    }
    members = tuple(member.model_dump() for member in glance.members)
    return CreateImage(row, glance.tags, members)


# Glance's time of the change it records, as Glance shows it.
@_decides(ImageGlanceSynced)
def _glance_synced(at: Place, event: ImageGlanceSynced) -> ImageChange:
    return UpdateImage(at.version, {"updated_at": event.glance.updated_at})


@_decides(ImageDeleted, ImageScrubbed)
def _deleted(at: Place, event: ImageDeleted | ImageScrubbed) -> ImageChange:
    return DeleteImage()


# A delayed delete keeps the row (queries treat `pending_delete` as gone) until the scrub ends.
# Copies still streaming ended with the deletion: nothing for recovery to look after.
@_decides(ImageDeletePending)
def _delete_pending(at: Place, event: ImageDeletePending) -> ImageChange:
    values = {"status": "pending_delete", "copies_in_progress": 0, "updated_at": at.occurred_at}
    return UpdateImage(at.version, values)


@_decides(ImageRestored)
def _restored(at: Place, event: ImageRestored) -> ImageChange:
    return UpdateImage(at.version, {"status": event.status, "updated_at": at.occurred_at})


# Membership moves the image's version (the guard) but not its updated_at.
@_decides(ImageMemberAdded)
def _member_added(at: Place, event: ImageMemberAdded) -> ImageChange:
    return UpdateImage(at.version, then=AddMember(event.member, at.occurred_at))


@_decides(ImageMemberStatusChanged)
def _member_status_changed(at: Place, event: ImageMemberStatusChanged) -> ImageChange:
    return UpdateImage(at.version, then=SetMemberStatus(event.member, event.status, at.occurred_at))


@_decides(ImageMemberRemoved)
def _member_removed(at: Place, event: ImageMemberRemoved) -> ImageChange:
    return UpdateImage(at.version, then=RemoveMember(event.member))


# Copies in progress are counted so recovery can find them; users see the import's progress.
@_decides(ImageCopyStarted)
def _copy_started(at: Place, event: ImageCopyStarted) -> ImageChange:
    return UpdateImage(at.version, derived={"copies_in_progress": _one_more})


@_decides(ImageCopyFailed)
def _copy_failed(at: Place, event: ImageCopyFailed) -> ImageChange:
    derived = {
        "copies_in_progress": _one_less,
        "properties": _progressed(lambda progress: progress.failed_in(event.store)),
    }
    return UpdateImage(at.version, {"updated_at": at.occurred_at}, derived)


# An import that brings the data: `importing`, and a location listed after a rejected location
# import is no longer (the stores it writes are listed as each is copied).
@_decides(ImageImportStarted)
def _import_started(at: Place, event: ImageImportStarted) -> ImageChange:
    progressed = _progressed(lambda progress: progress.started(event.task_id, event.stores))
    values: dict[str, Any] = {"updated_at": at.occurred_at}
    if event.brings_data:
        values |= {"status": "importing", "locations": []}
    return UpdateImage(at.version, values, {"properties": progressed})


@_decides(ImageImported)
def _imported(at: Place, event: ImageImported) -> ImageChange:
    values = {
        "status": "active",
        "reserved_bytes": 0,
        "size": event.size,
        "checksum": event.checksum,
        "os_hash_algo": event.os_hash_algo,
        "os_hash_value": event.os_hash_value,
        "virtual_size": event.virtual_size,
        "updated_at": at.occurred_at,
    }
    return UpdateImage(at.version, values)


@_decides(ImageImportEnded)
def _import_ended(at: Place, event: ImageImportEnded) -> ImageChange:
    progressed = _progressed(lambda progress: progress.ended(event.task_id))
    return UpdateImage(at.version, {"updated_at": at.occurred_at}, {"properties": progressed})


@_decides(ImageTagAdded)
def _tag_added(at: Place, event: ImageTagAdded) -> ImageChange:
    return UpdateImage(at.version, {"updated_at": at.occurred_at}, then=AddTag(event.tag))


@_decides(ImageTagRemoved)
def _tag_removed(at: Place, event: ImageTagRemoved) -> ImageChange:
    return UpdateImage(at.version, {"updated_at": at.occurred_at}, then=RemoveTag(event.tag))


@_decides(ImageUpdated)
def _updated(at: Place, event: ImageUpdated) -> ImageChange:
    return UpdateImage(
        at.version,
        {**event.attributes, "updated_at": at.occurred_at},
        {"properties": lambda current: _merged(current, event)},
        None if event.tags is None else ReplaceTags(event.tags),
    )


@_decides(ImageDeactivated)
def _deactivated(at: Place, event: ImageDeactivated) -> ImageChange:
    return UpdateImage(at.version, {"status": "deactivated", "updated_at": at.occurred_at})


@_decides(ImageReactivated)
def _reactivated(at: Place, event: ImageReactivated) -> ImageChange:
    return UpdateImage(at.version, {"status": "active", "updated_at": at.occurred_at})


@_decides(ImageUploadClaimGrown)
def _upload_claim_grown(at: Place, event: ImageUploadClaimGrown) -> ImageChange:
    return UpdateImage(at.version, {"reserved_bytes": event.reserved})


@_decides(ImageUploadStarted)
def _upload_started(at: Place, event: ImageUploadStarted) -> ImageChange:
    status = "uploading" if event.staging else "saving"
    values = {"status": status, "reserved_bytes": event.reserved, "updated_at": at.occurred_at}
    return UpdateImage(at.version, values)


# As Glance: a staged image shows its size (which now counts, not the claim).
@_decides(ImageStaged)
def _staged(at: Place, event: ImageStaged) -> ImageChange:
    values = {"size": event.size, "reserved_bytes": 0, "updated_at": at.occurred_at}
    return UpdateImage(at.version, values)


@_decides(ImageUploadFailed)
def _upload_failed(at: Place, event: ImageUploadFailed) -> ImageChange:
    values = {"status": "queued", "size": None, "virtual_size": None, "reserved_bytes": 0}
    return UpdateImage(at.version, {**values, "updated_at": at.occurred_at})


# The image had no data before: its only location now is its data's (a location listed after a
# rejected location import is no longer).
@_decides(ImageUploaded, ImageLocationAdded)
def _data_added(at: Place, event: ImageUploaded | ImageLocationAdded) -> ImageChange:
    values = {
        "status": "active",
        "locations": [{"url": event.location, "store": event.store}],
        "reserved_bytes": 0,
        "size": event.size,
        "checksum": event.checksum,
        "os_hash_algo": event.os_hash_algo,
        "os_hash_value": event.os_hash_value,
        "virtual_size": getattr(event, "virtual_size", None),
        "updated_at": at.occurred_at,
    }
    return UpdateImage(at.version, values)


@_decides(ImageLocationRejected)
def _location_rejected(at: Place, event: ImageLocationRejected) -> ImageChange:
    rejected = {"url": event.location, "store": event.store}

    def listed(current: list[dict[str, str]]) -> list[dict[str, str]]:
        return current if rejected in current else [*current, rejected]

    return UpdateImage(at.version, {"updated_at": at.occurred_at}, {"locations": listed})


@_decides(ImageCopied)
def _copied(at: Place, event: ImageCopied) -> ImageChange:
    copied = {"url": event.location, "store": event.store}
    derived: dict[str, Derive] = {
        "locations": lambda current: [*current, copied],
        "copies_in_progress": _one_less,
        "properties": _progressed(lambda progress: progress.stored(event.store)),
    }
    return UpdateImage(at.version, {"updated_at": at.occurred_at}, derived)


@_decides(ImageLocationRemoved)
def _location_removed(at: Place, event: ImageLocationRemoved) -> ImageChange:
    gone = event.location
    derived = {"locations": lambda current: [loc for loc in current if loc["url"] != gone]}
    return UpdateImage(at.version, {"updated_at": at.occurred_at}, derived)


def _one_more(count: int) -> int:
    return count + 1


def _one_less(count: int) -> int:
    return count - 1


def _progressed(step: Callable[[ImportProgress], ImportProgress]) -> Derive:
    """The properties with the import's progress moved on by `step`."""

    def derive(current: Mapping[str, str]) -> dict[str, str]:
        return step(ImportProgress.of(current)).shown_in(current)

    return derive


def _merged(current: Mapping[str, str], event: ImageUpdated) -> dict[str, str]:
    properties = {**current, **event.properties}
    for name in event.removed_properties:
        properties.pop(name, None)
    return properties
