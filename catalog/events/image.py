"""The events of an image's life."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from catalog.events.base import DomainEvent
from catalog.events.glance_state import GlanceImage


class ImageEvent(DomainEvent):
    """An event of an image's stream (or of a download's, which names its image)."""

    aggregate = "images"


class ImageCreated(ImageEvent):
    """A new image record exists, without data (status `queued`)."""

    event_type = "image.created"

    name: str | None = None
    disk_format: str | None = None
    container_format: str | None = None
    visibility: str = "shared"
    protected: bool = False
    os_hidden: bool = False
    min_ram: int = 0
    min_disk: int = 0
    owner: str | None = None
    tags: tuple[str, ...] = ()
    properties: dict[str, str] = Field(default_factory=dict)


class ImageUploadStarted(ImageEvent):
    """Bytes started streaming into a store (status `saving`).

    The location is recorded before the first byte is written, so recovery can always find and
    remove the data of an upload that never finished.
    """

    event_type = "image.upload_started"
    schema_version = 2

    store: str
    location: str
    expected_size: int | None = None
    node_id: str | None = None
    """The process streaming the bytes: recovery fails the upload once that process is gone."""
    staging: bool = False
    """Staged for a later import (`PUT …/stage`, status `uploading`) rather than uploaded."""
    reserved: int = 0
    """Bytes claimed against the project's storage quota until the upload ends (v2)."""


class ImageUploadClaimGrown(ImageEvent):
    """An upload of unknown size passed what it had claimed of its project's storage quota, and
    claimed more: it claims in steps as its bytes arrive, never all that is left at once."""

    event_type = "image.upload_claim_grown"

    reserved: int
    """Bytes the upload claims in all from now on."""


class ImageStaged(ImageEvent):
    """Staged bytes are durable and hashed; the image waits, `uploading`, for its import."""

    event_type = "image.staged"
    schema_version = 2

    size: int
    checksum: str
    os_hash_algo: str
    os_hash_value: str
    found_format: str | None = None
    """The disk format the bytes turned out to be, checked against `disk_format` at import
    (None: staged before inspection existed, v1)."""
    virtual_size: int | None = None
    signed_with: dict[str, str] | None = None
    """The signature properties the bytes were verified against as they were staged (None:
    the image was not signed then); the import refuses them if the image's differ now."""


class ImageUploadFailed(ImageEvent):
    """An upload ended without data; its partial bytes are gone (back to `queued`)."""

    event_type = "image.upload_failed"

    reason: str
    location: str


class ImageUploaded(ImageEvent):
    """The image's bytes are durable in a store and hashed (status `active`)."""

    event_type = "image.uploaded"

    store: str
    location: str
    size: int
    checksum: str
    os_hash_algo: str
    os_hash_value: str
    virtual_size: int | None = None


class ImageLocationAdded(ImageEvent):
    """Data already in a store was attached to the image and hashed (status `active`)."""

    event_type = "image.location_added"

    store: str
    location: str
    size: int
    checksum: str
    os_hash_algo: str
    os_hash_value: str
    metadata: dict[str, str] = Field(default_factory=dict)


class ImageLocationRejected(ImageEvent):
    """Data at a location in a read-only store (an http URL) did not match the hash the
    caller gave for it: the image stays `queued`, without data, and lists the location, as
    Glance does (it cannot remove what it does not own). Not the image's data: getting data
    later replaces it."""

    event_type = "image.location_rejected"

    store: str
    location: str
    reason: str


class ImageCopyStarted(ImageEvent):
    """A copy of the image's data started streaming into another store (copy-image import).

    Recorded before the first byte is written, so recovery can remove the bytes of a copy whose
    process died."""

    event_type = "image.copy_started"

    store: str
    location: str
    node_id: str | None = None


class ImageCopied(ImageEvent):
    """A copy is complete, verified against the image's checksum and hash: the image has data
    in one more store."""

    event_type = "image.copied"

    store: str
    location: str


class ImageCopyFailed(ImageEvent):
    """A copy ended without data; its partial bytes are gone."""

    event_type = "image.copy_failed"

    store: str
    location: str
    reason: str


class ImageImportStarted(ImageEvent):
    """An import (or copy) began writing the image's data into `stores`, run by task `task_id`.

    Shown as Glance shows it: the task holds the image's import lock (`os_glance_import_task`),
    the stores are listed as importing (`os_glance_importing_to_stores`) until each is copied
    or fails (then listed in `os_glance_failed_import`)."""

    event_type = "image.import_started"

    task_id: str
    stores: tuple[str, ...]
    brings_data: bool = False
    """The import brings the image its data (glance-direct): it is `importing` until the
    import ends. A copy-image import does not: the image stays active."""


class ImageImported(ImageEvent):
    """An import that brought the image its data wrote it into every store it had to: the
    image is active, its data is what was staged (size, digests; `virtual_size` as inspected),
    held in the stores the import copied it into (`image.copied`)."""

    event_type = "image.imported"

    size: int
    checksum: str
    os_hash_algo: str
    os_hash_value: str
    virtual_size: int | None = None


class ImageImportEnded(ImageEvent):
    """The import run by `task_id` ended: its lock on the image is released."""

    event_type = "image.import_ended"

    task_id: str


class ImageLocationRemoved(ImageEvent):
    """One store's copy of the image's data was let go. By `DELETE /v2/stores/{store}/{id}`:
    the image stays active with its other copies, and the bytes at `location` are to go. By
    the scrubber, for an image pending deletion: the bytes at `location` are already gone.
    Either way, bytes another image holds too stay for it."""

    event_type = "image.location_removed"

    store: str
    location: str


class ImageDataSent(ImageEvent):
    """Image bytes went out to a client (Glance's `image.send`), on a stream of its own per
    transfer: downloads are facts about a reader, not changes to the image, and many may run
    at once without contending for the image's stream. The receiver is the event's actor."""

    event_type = "image.data_sent"

    image_id: str
    owner: str | None
    bytes_sent: int
    offset: int = 0
    requested: int
    """How many bytes the response was to carry (the whole image, or the range asked for)."""
    store: str

    @property
    def complete(self) -> bool:
        return self.bytes_sent == self.requested


class ImageDeleted(ImageEvent):
    """The image is gone for users; the listed locations' data is to be removed (unless
    another image holds it too)."""

    event_type = "image.deleted"

    locations: tuple[str, ...] = ()


class ImageDeletePending(ImageEvent):
    """The image is gone for users, but its stored data is kept until `scrub_after` (delayed
    delete, status `pending_delete`): until the scrubber starts, an admin can restore it."""

    event_type = "image.delete_pending"

    locations: tuple[str, ...]
    """The stored data, for the scrubber to remove (or the image to get back on restore)."""
    previous_status: Literal["active", "deactivated"]
    """What a restore returns the image to."""
    scrub_after: datetime
    """When the data may be scrubbed: the deletion's time plus the configured scrub time."""
    discarded: tuple[str, ...] = ()
    """Bytes that were still streaming in (a copy to another store): they go at once, as on
    an immediate delete, and are not part of what a restore gives back."""


class ImageRestored(ImageEvent):
    """A deletion pending scrubbing was undone: the image is back with its data and members."""

    event_type = "image.restored"

    status: Literal["active", "deactivated"]


class ImageScrubStarted(ImageEvent):
    """The scrubber began removing the data of an image pending deletion; from here on the
    image can no longer be restored, so a restore can never race the removal of its bytes."""

    event_type = "image.scrub_started"


class ImageScrubFailed(ImageEvent):
    """A store kept failing to remove its copy; the image stays `pending_delete`, with its
    remaining locations, and is scrubbed again from `retry_after`."""

    event_type = "image.scrub_failed"

    store: str
    location: str
    reason: str
    attempts: int
    """How many times the store was asked, in this scrub, before giving up."""
    retry_after: datetime


class ImageScrubbed(ImageEvent):
    """Every byte of an image pending deletion is gone from its stores (status `deleted`)."""

    event_type = "image.scrubbed"


class ImageTagAdded(ImageEvent):
    """A tag was put on the image."""

    event_type = "image.tag_added"

    tag: str


class ImageTagRemoved(ImageEvent):
    """A tag was taken off the image."""

    event_type = "image.tag_removed"

    tag: str


class ImageDeactivated(ImageEvent):
    """The image's data may no longer be downloaded by non-admins (status `deactivated`)."""

    event_type = "image.deactivated"


class ImageReactivated(ImageEvent):
    """The image is usable again (status `active`)."""

    event_type = "image.reactivated"


class ImageUpdated(ImageEvent):
    """Attributes, custom properties or tags changed, all by one request (one PATCH)."""

    event_type = "image.updated"

    attributes: dict[str, Any] = Field(default_factory=dict)
    """Base attributes set to new values (name, visibility, protected, min_ram, ...)."""
    properties: dict[str, str] = Field(default_factory=dict)
    """Custom properties added or changed."""
    removed_properties: tuple[str, ...] = ()
    tags: tuple[str, ...] | None = None
    """The whole new set of tags, when it changed."""


class ImageMemberAdded(ImageEvent):
    """A project was given access to a shared image (membership `pending`)."""

    event_type = "image.member_added"

    member: str


class ImageMemberStatusChanged(ImageEvent):
    """A member accepted, rejected, or set back to pending its membership."""

    event_type = "image.member_status_changed"

    member: str
    status: str


class ImageMemberRemoved(ImageEvent):
    """A project's access to the image was taken away."""

    event_type = "image.member_removed"

    member: str


class ImageMigrated(ImageEvent):
    """The image came from another image service's database, as it was there: its stream
    begins here, its id, times, members, tags and data's locations kept.

    Not `image.imported`, which is the end of an import that brought an image of the catalog
    its data: this is where an image's life in the catalog begins, with a past elsewhere."""

    event_type = "image.migrated"

    source: str
    """Where from: "glance"."""
    glance: GlanceImage


class ImageGlanceSynced(ImageEvent):
    """A later run of the migration found the image changed in Glance: the events before it
    in the same append carry the changes; this one records what Glance now has (the next run
    compares with it) and Glance's time of the change."""

    event_type = "image.glance_synced"

    glance: GlanceImage


IMAGE_EVENTS: tuple[type[DomainEvent], ...] = (
    ImageCreated,
    ImageUploadStarted,
    ImageUploadClaimGrown,
    ImageStaged,
    ImageUploadFailed,
    ImageUploaded,
    ImageLocationAdded,
    ImageLocationRejected,
    ImageLocationRemoved,
    ImageCopyStarted,
    ImageCopied,
    ImageCopyFailed,
    ImageImportStarted,
    ImageImported,
    ImageImportEnded,
    ImageDeleted,
    ImageDeletePending,
    ImageRestored,
    ImageScrubStarted,
    ImageScrubFailed,
    ImageScrubbed,
    ImageTagAdded,
    ImageTagRemoved,
    ImageDeactivated,
    ImageReactivated,
    ImageUpdated,
    ImageMemberAdded,
    ImageMemberStatusChanged,
    ImageMemberRemoved,
    ImageDataSent,
    ImageMigrated,
    ImageGlanceSynced,
)
"""Every event of an image's stream, and the downloads of its data (streams of their own)."""
