"""The Image aggregate: decides what may happen to an image and records it as events.

Pure: no I/O, no clock. Command methods check the rules and record events; state changes only in
`apply`, so replaying the log rebuilds exactly the state the decisions were made on.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Literal

from catalog.aggregate import EventSourced
from catalog.disk_formats import Inspection, accept
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
    ImageScrubFailed,
    ImageScrubStarted,
    ImageStaged,
    ImageTagAdded,
    ImageTagRemoved,
    ImageUpdated,
    ImageUploadClaimGrown,
    ImageUploaded,
    ImageUploadFailed,
    ImageUploadStarted,
)
from catalog.events.glance_state import GlanceImage
from catalog.glance_migration import ATTRIBUTES, changes_in_glance, migration_of
from catalog.image_patch import PatchOperation, plan_update
from catalog.import_progress import ImportProgress
from catalog.policy.property_protections import PropertyCheck, every_property
from catalog.signatures import SignedWith, refused

if TYPE_CHECKING:
    from catalog.ports import ConvertedDisk


class ImageStatus(StrEnum):
    QUEUED = "queued"
    SAVING = "saving"
    ACTIVE = "active"
    KILLED = "killed"
    DELETED = "deleted"
    PENDING_DELETE = "pending_delete"
    DEACTIVATED = "deactivated"
    UPLOADING = "uploading"
    IMPORTING = "importing"


GONE_STATUSES = frozenset({ImageStatus.DELETED, ImageStatus.PENDING_DELETE})
"""Statuses of an image that no longer exists for users (pending_delete: its data waits for
the scrubber, and an admin may still restore it)."""


@dataclass(frozen=True)
class DataLocation:
    """One copy of the image's bytes: the store that holds it and its URL there."""

    store: str
    url: str


@dataclass(frozen=True)
class CopyInProgress:
    """Bytes streaming into another store for a copy-image import, by process `node_id`."""

    location: str
    node_id: str | None


_RESTORABLE: dict[ImageStatus | None, Literal["active", "deactivated"]] = {
    ImageStatus.ACTIVE: "active",
    ImageStatus.DEACTIVATED: "deactivated",
}
"""The statuses a delayed delete keeps the data of, as a restore brings them back."""


def stores_shown(store_names: Iterable[str]) -> str | None:
    """The stores holding an image's data, as Glance shows them: `fast,bulk`, each store once,
    in the order its copy was made; None while it has no data."""
    return ",".join(dict.fromkeys(store_names)) or None


@dataclass(frozen=True)
class MigratedData:
    """The data of an image migrated from Glance, as Glance measured it (an image older than
    Glance's secure hash has no `os_hash_*`)."""

    size: int
    checksum: str | None
    os_hash_algo: str | None
    os_hash_value: str | None
    virtual_size: int | None


FORMATS_REQUIRED = "Properties disk_format, container_format must be set prior to saving data."


class Image(EventSourced):
    """One image's decision state, rebuilt from its events."""

    def __init__(self, image_id: uuid.UUID) -> None:
        super().__init__(image_id)
        self.status: ImageStatus | None = None
        self.name: str | None = None
        self.owner: str | None = None
        self.visibility = "shared"
        self.protected = False
        self.os_hidden = False
        self.min_ram = 0
        self.min_disk = 0
        self.properties: dict[str, str] = {}
        self.members: dict[str, str] = {}
        """Member project id -> membership status."""
        self.disk_format: str | None = None
        self.container_format: str | None = None
        self.locations: list[DataLocation] = []
        self.rejected_locations: list[DataLocation] = []
        """Locations in read-only stores whose data did not match the hash given for it: listed,
        as Glance lists them, but not the image's data (it has none)."""
        self.tags: set[str] = set()
        self.upload_location: str | None = None
        self.upload_node: str | None = None
        self.upload_store: str | None = None
        self.data: ImageUploaded | ImageLocationAdded | ImageImported | MigratedData | None = None
        """What the image's data is (size and digests), once it has some."""
        self.import_progress = ImportProgress()
        """The stores an import (or copy) writes, and the task holding the import lock."""
        self.copies: dict[str, CopyInProgress] = {}
        """Copies streaming into other stores, by store name."""
        self.staged: ImageStaged | None = None
        """Set once staged bytes are complete (status `uploading`), until they are imported."""
        self.deletion: ImageDeletePending | None = None
        """Set while the image is `pending_delete`: what was kept, until when, and for whom."""
        self.scrub_started = False
        """The scrubber began removing the data: restoring is no longer possible."""
        self.scrub_retry_after: datetime | None = None
        """A scrub failed: the next one is due from then."""
        self.created_at: datetime | None = None
        self.updated_at: datetime | None = None
        self.glance: GlanceImage | None = None
        """For an image migrated from Glance: what Glance had at the last run that looked."""

    @property
    def gone(self) -> bool:
        """Never created, deleted, or pending deletion: for users, the image does not exist."""
        return not self.exists or self.status in GONE_STATUSES

    # What the data is, as the image shows it (and as policy rules may read it).

    @property
    def size(self) -> int | None:
        # Staged bytes show their size before they become the image's data (as the view does).
        return self.data.size if self.data else self.staged.size if self.staged else None

    @property
    def virtual_size(self) -> int | None:
        return (
            self.data.virtual_size
            if isinstance(self.data, ImageUploaded | ImageImported | MigratedData)
            else None
        )

    @property
    def checksum(self) -> str | None:
        return self.data.checksum if self.data else None

    @property
    def os_hash_algo(self) -> str | None:
        return self.data.os_hash_algo if self.data else None

    @property
    def os_hash_value(self) -> str | None:
        return self.data.os_hash_value if self.data else None

    @property
    def stores(self) -> str | None:
        """Where the data is, as the API shows it (`stores`)."""
        return stores_shown(location.store for location in self.locations)

    @property
    def data_locations(self) -> list[str]:
        """Every place holding bytes of this image, an upload still streaming included."""
        stored = [location.url for location in self.locations]
        copying = [copy.location for copy in self.copies.values()]
        return [*stored, *copying, *([self.upload_location] if self.upload_location else [])]

    # -- commands ------------------------------------------------------------------------------

    @classmethod
    def create(cls, image_id: uuid.UUID, attributes: ImageCreated, now: datetime) -> Image:
        image = cls(image_id)
        image._record(attributes, now)
        return image

    @classmethod
    def migrate(
        cls, image_id: uuid.UUID, glance: GlanceImage, now: datetime, scrub_time: timedelta
    ) -> Image:
        """A new stream for an image Glance has: its state there, then (pending deletion)
        its delayed delete, scrubbed from Glance's deletion time plus `scrub_time`."""
        image = cls(image_id)
        for event in migration_of(glance, scrub_time):
            image._record(event, now)
        return image

    def follow_glance(self, glance: GlanceImage, now: datetime, scrub_time: timedelta) -> int:
        """Record what changed in Glance since the last run looked (how many events: 0 if
        nothing did). Changes made in the catalog meanwhile stay, unless Glance changed the
        same thing."""
        if self.glance is None:
            raise Conflict(f"Image {self.id} exists in the catalog and did not come from Glance.")
        deleted_here = self.status is ImageStatus.PENDING_DELETE and not self._gone_in(self.glance)
        if self.status is ImageStatus.DELETED or deleted_here:
            return 0  # deleted in the catalog since: what Glance does later cannot bring it back
        events = changes_in_glance(self.glance, glance, scrub_time)
        for event in events:
            self._record(event, now)
        return len(events)

    @staticmethod
    def _gone_in(glance: GlanceImage) -> bool:
        return glance.status in GONE_STATUSES

    def start_upload(
        self,
        *,
        store: str,
        location: str,
        expected_size: int | None,
        now: datetime,
        node_id: str | None = None,
        staging: bool = False,
        reserved: int = 0,
    ) -> None:
        """queued → saving (upload), or queued → uploading (staging for a glance-direct import:
        formats may still be set before the import). `reserved`: bytes claimed against the
        owner's storage quota until the upload ends."""
        self._require_live()
        target = ImageStatus.UPLOADING if staging else ImageStatus.SAVING
        if self.status is not ImageStatus.QUEUED:
            raise InvalidStatusTransition(str(self.status), target)
        if not staging:
            self._require_formats()
        started = ImageUploadStarted(
            store=store,
            location=location,
            expected_size=expected_size,
            node_id=node_id,
            staging=staging,
            reserved=reserved,
        )
        self._record(started, now)

    @property
    def transfer_in_progress(self) -> bool:
        """Bytes are streaming in: an upload (`saving`), or a staging not yet complete."""
        return self.status is ImageStatus.SAVING or (
            self.status is ImageStatus.UPLOADING and self.staged is None
        )

    def upload_abandoned(self, live_nodes: frozenset[str]) -> bool:
        """Whether bytes are streaming in for a process that no longer runs."""
        return self.transfer_in_progress and self.upload_node not in live_nodes

    def complete_upload(self, stored: ImageUploaded, now: datetime) -> None:
        self._require_transfer_in_progress(ImageStatus.ACTIVE, streaming=ImageStatus.SAVING)
        self._record(stored, now)

    def complete_staging(self, staged: ImageStaged, now: datetime) -> None:
        self._require_transfer_in_progress(ImageStatus.UPLOADING, streaming=ImageStatus.UPLOADING)
        self._record(staged, now)

    def require_staged(self) -> None:
        """What a glance-direct import needs: staged bytes and both formats (else 409)."""
        self._require_live()
        if self.status is ImageStatus.ACTIVE:
            raise Conflict("Image with status active cannot be target for import")
        if self.status is not ImageStatus.UPLOADING or self.staged is None:
            raise Conflict("Image needs to be staged before 'glance-direct' method can be used")
        if self.container_format is None:
            raise Conflict("'container_format' needs to be set before import")
        if self.disk_format is None:
            raise Conflict("'disk_format' needs to be set before import")

    def _require_staged_as_signed(self) -> None:
        """The staged bytes were verified (or not) against the signature properties the image
        had when they were staged: if those changed since, SignatureRefused."""
        staged = self.staged
        assert staged is not None
        if SignedWith.of(self.properties) != SignedWith.of(staged.signed_with or {}):
            raise refused("The signature properties changed after the data was staged")

    def _staged_virtual_size(self) -> int | None:
        """The staged bytes' virtual size, once checked against the disk format claimed now
        (it was unknown while staging, for `bare` images): DiskFormatRejected if they do not
        match it."""
        staged = self.staged
        assert staged is not None
        assert self.disk_format is not None
        if self.container_format == "bare" and staged.found_format is not None:
            found = Inspection(staged.found_format, staged.virtual_size, (), staged.size)
            return accept(self.disk_format, found)
        return None

    def complete_import(self, now: datetime, converted: ConvertedDisk | None = None) -> None:
        """An import that brought the data has written it into its stores: importing →
        active, with the staged bytes' size and digests; or, when the import converted them,
        the converted disk's, in its format (`bare`, as Glance: the format was changed
        first, so the history keeps the one claimed before)."""
        if self.status is not ImageStatus.IMPORTING or self.staged is None:
            raise InvalidStatusTransition(str(self.status), ImageStatus.ACTIVE)
        data: ImageStaged | ConvertedDisk = self.staged
        virtual_size = self._staged_virtual_size()
        if converted is not None:
            data, virtual_size = converted, converted.virtual_size
            formats = {"disk_format": converted.disk_format, "container_format": "bare"}
            self._record(ImageUpdated(attributes=formats), now)
        imported = ImageImported(
            size=data.size,
            checksum=data.checksum,
            os_hash_algo=data.os_hash_algo,
            os_hash_value=data.os_hash_value,
            virtual_size=virtual_size,
        )
        self._record(imported, now)

    def inject_properties(self, properties: Mapping[str, str], now: datetime) -> None:
        """Properties operators have every import set (Glance's `inject_image_metadata`),
        recorded as a change of the image; its own `os_glance_*` ones are never set so."""
        changed = self._properties_changed_by(properties)
        if changed:
            self._record(ImageUpdated(properties=changed), now)

    def _properties_changed_by(self, properties: Mapping[str, str]) -> dict[str, str]:
        """Those of `properties` that would change the image's: never its own `os_glance*`."""
        return {
            name: value
            for name, value in properties.items()
            if not name.startswith("os_glance") and self.properties.get(name) != value
        }

    def take_metadata(
        self, formats: Mapping[str, str], properties: Mapping[str, str], now: datetime
    ) -> ImageUpdated | None:
        """glance-download: the queued image takes another image's disk and container formats
        and some of its properties (never `os_glance*` ones), before its data. Returns the
        change that puts back what was, for an import that fails (None: nothing changed)."""
        self._require_live()
        if self.status is not ImageStatus.QUEUED:
            raise InvalidStatusTransition(str(self.status), ImageStatus.QUEUED)
        attributes = {
            name: value for name, value in formats.items() if getattr(self, name) != value
        }
        changed = self._properties_changed_by(properties)
        if not attributes and not changed:
            return None
        undo = ImageUpdated(
            attributes={name: getattr(self, name) for name in attributes},
            properties={name: self.properties[name] for name in changed if name in self.properties},
            removed_properties=tuple(name for name in changed if name not in self.properties),
        )
        self._record(ImageUpdated(attributes=attributes, properties=changed), now)
        return undo

    def put_back(self, undo: ImageUpdated, now: datetime) -> None:
        """An import that failed puts back the metadata it changed (`take_metadata`'s undo),
        once the image is queued again; a deleted image keeps what it had."""
        if self.status is ImageStatus.QUEUED:
            self._record(undo.model_copy(), now)

    def fail_import(self, reason: str, now: datetime) -> list[DataLocation]:
        """An import that was to bring the data failed: back to `queued`, without the copies
        it made nor the staged bytes. Returns what to remove (once recorded)."""
        if self.status is not ImageStatus.IMPORTING:
            raise InvalidStatusTransition(str(self.status), ImageStatus.QUEUED)
        doomed = list(self.locations)
        for location in doomed:
            self._record(ImageLocationRemoved(store=location.store, location=location.url), now)
        staged = self.upload_location
        assert staged is not None
        assert self.upload_store is not None
        self._record(ImageUploadFailed(reason=reason, location=staged), now)
        kept = {location.url for location in doomed}
        if staged not in kept:
            doomed.append(DataLocation(self.upload_store, staged))
        return doomed

    def grow_upload_claim(self, reserved: int, now: datetime) -> None:
        """The upload streaming in claims `reserved` bytes of its project's storage quota in
        all (its bytes passed what it claimed)."""
        self._require_transfer_in_progress(ImageStatus.SAVING)
        self._record(ImageUploadClaimGrown(reserved=reserved), now)

    def fail_upload(self, reason: str, now: datetime) -> None:
        """An upload or a staging ends without data: back to `queued`."""
        self._require_transfer_in_progress(ImageStatus.QUEUED)
        assert self.upload_location is not None
        self._record(ImageUploadFailed(reason=reason, location=self.upload_location), now)

    def reject_staged(self, reason: str, now: datetime) -> str:
        """Staged bytes that cannot be imported go: back to `queued`. Returns their location."""
        if self.status is not ImageStatus.UPLOADING or self.staged is None:
            raise InvalidStatusTransition(str(self.status), ImageStatus.QUEUED)
        location = self.upload_location
        assert location is not None
        self._record(ImageUploadFailed(reason=reason, location=location), now)
        return location

    def add_location(self, added: ImageLocationAdded, now: datetime) -> None:
        self._require_live()
        if self.status is not ImageStatus.QUEUED:
            raise InvalidStatusTransition(str(self.status), ImageStatus.ACTIVE)
        self._require_formats()
        self._record(added, now)

    def reject_location(self, store: str, location: str, reason: str, now: datetime) -> None:
        """Data at `location`, in read-only `store`, is not what the caller said: the image
        stays queued and lists the location (once), as Glance does."""
        self._require_live()
        if self.status is not ImageStatus.QUEUED:
            raise InvalidStatusTransition(str(self.status), ImageStatus.QUEUED)
        self._record(ImageLocationRejected(store=store, location=location, reason=reason), now)

    def begin_import(
        self, task_id: str, stores: tuple[str, ...], now: datetime, *, brings_data: bool = False
    ) -> None:
        """Task `task_id` takes the image's import lock to write its data into `stores`.
        `brings_data`: the staged bytes become the image's data (uploading → importing); they
        are checked against the disk format claimed now (DiskFormatRejected) and the signature
        properties they were staged with (SignatureRefused). The task holding the lock may
        take it again, to bring the data it staged meanwhile (web-download)."""
        self._require_live()
        if brings_data:
            self.require_staged()
            self._require_staged_as_signed()
            self._staged_virtual_size()
        if self.import_progress.task != task_id:
            self.require_no_import()
        started = ImageImportStarted(task_id=task_id, stores=stores, brings_data=brings_data)
        self._record(started, now)

    def require_no_import(self) -> None:
        """Glance's import lock: one import (or copy) of an image at a time (else 409)."""
        if self.import_progress.task is not None:
            raise Conflict(
                f"New operation on image '{self.id}' is not permitted as prior operation "
                "is still in progress"
            )

    def end_import(self, task_id: str, reason: str, now: datetime) -> list[DataLocation]:
        """The import run by `task_id` ended: its lock goes (nothing to do if it has not it).
        An import that was to bring the data and did not failed (`fail_import`, for `reason`):
        returns the bytes to remove once recorded."""
        if self.import_progress.task != task_id:
            return []
        doomed = self.fail_import(reason, now) if self.status is ImageStatus.IMPORTING else []
        self._record(ImageImportEnded(task_id=task_id), now)
        return doomed

    def start_copy(self, store: str, location: str, node_id: str | None, now: datetime) -> None:
        """The data starts streaming into `store`: a copy of an active image's (copy-image),
        or the data an import brings (the image is `importing`)."""
        self._require_live()
        if self.status not in (ImageStatus.ACTIVE, ImageStatus.IMPORTING):
            raise Conflict("Only images with status active can be targeted for copying")
        if any(loc.store == store for loc in self.locations):
            raise BadRequest(f"Image is already present at store '{store}'")
        if store in self.copies:
            raise Conflict(f"Image is already being copied to store '{store}'")
        self._record(ImageCopyStarted(store=store, location=location, node_id=node_id), now)

    def complete_copy(self, store: str, now: datetime) -> None:
        copy = self._require_copy(store)
        self._record(ImageCopied(store=store, location=copy.location), now)

    def fail_copy(self, store: str, reason: str, now: datetime) -> None:
        copy = self._require_copy(store)
        self._record(ImageCopyFailed(store=store, location=copy.location, reason=reason), now)

    def abandoned_copies(self, live_nodes: frozenset[str]) -> dict[str, CopyInProgress]:
        """Copies streaming in for processes that no longer run."""
        return {s: c for s, c in self.copies.items() if c.node_id not in live_nodes}

    def _require_copy(self, store: str) -> CopyInProgress:
        if self.status in GONE_STATUSES:
            raise Gone(f"Image {self.id} was deleted while its data was being copied.")
        copy = self.copies.get(store)
        if copy is None:
            raise Conflict(f"Image {self.id} is not being copied to store '{store}'")
        return copy

    def remove_location(self, store: str, now: datetime) -> DataLocation:
        """Let go of the copy in `store`; the image keeps its others (at least one)."""
        self._require_live()
        if self.status is not ImageStatus.ACTIVE:
            raise Conflict(
                "It's not allowed to remove image data from store if image status is not 'active'"
            )
        if len(self.locations) == 1:
            raise Forbidden(
                "Cannot delete image data from the only store containing it. "
                "Consider deleting the image instead."
            )
        location = next((loc for loc in self.locations if loc.store == store), None)
        if location is None:
            raise NotFound(f"Image {self.id} is not stored in store {store}.")
        self._record(ImageLocationRemoved(store=store, location=location.url), now)
        return location

    def delete(
        self, now: datetime, *, delayed: bool = False, scrub_time: timedelta = timedelta(0)
    ) -> list[str]:
        """Delete the image; returns the locations whose bytes are to go right away.

        With `delayed` (Glance's `delayed_delete`), an image holding stored data (active or
        deactivated) goes `pending_delete` instead: gone for users, its data kept for the
        scrubber to remove from `now + scrub_time`, and restorable until then. Anything else
        is deleted at once, with every byte it has.
        """
        if self.gone:
            raise NotFound(f"Failed to find image {self.id} to delete")
        if self.protected:
            raise Forbidden(f"Image {self.id} is protected and cannot be deleted.")
        doomed = self.data_locations
        if not (delayed and self.locations and self.status in _RESTORABLE):
            # An upload still streaming loses its image: its bytes go with the rest.
            self._record(ImageDeleted(locations=tuple(doomed)), now)
            return doomed
        kept = [location.url for location in self.locations]
        # A copy still streaming into another store is no part of the image yet: it ends now,
        # as it would on an immediate delete, and a restore does not give it back.
        discarded = [url for url in doomed if url not in kept]
        pending = ImageDeletePending(
            locations=tuple(kept),
            previous_status=_RESTORABLE[self.status],
            scrub_after=now + scrub_time,
            discarded=tuple(discarded),
        )
        self._record(pending, now)
        return discarded

    def restore(self, now: datetime) -> None:
        """Undo a delayed delete: back to the status it had, with its data, before any byte
        was scrubbed. Only from `pending_delete` (else 409, as Glance's image_restore)."""
        if not self.exists:
            raise NotFound(f"No image found with ID {self.id}")
        if self.status is not ImageStatus.PENDING_DELETE or self.deletion is None:
            raise Conflict(
                f"Image {self.id} cannot be restored from status {self.status}: only an image"
                " pending deletion (pending_delete) can be restored."
            )
        if self.scrub_started:
            raise Conflict(
                f"Image {self.id} cannot be restored: its data is already being scrubbed."
            )
        self._record(ImageRestored(status=self.deletion.previous_status), now)

    @property
    def scrub_due_at(self) -> datetime | None:
        """When the scrubber may remove the data of an image pending deletion: its scrub time,
        or later after a failed scrub. None: the image is not pending deletion."""
        if self.status is not ImageStatus.PENDING_DELETE or self.deletion is None:
            return None
        due = self.deletion.scrub_after
        if self.scrub_retry_after is not None:
            due = max(due, self.scrub_retry_after)
        return due

    def start_scrub(self, now: datetime) -> None:
        """Fence restores off before the first byte is removed; already started: nothing."""
        self._require_pending_delete()
        if not self.scrub_started:
            self._record(ImageScrubStarted(), now)

    def record_store_scrubbed(self, location: DataLocation, now: datetime) -> None:
        """The bytes at `location` are gone. Recorded once: a location already recorded (by a
        concurrent scrub) records nothing more."""
        self._require_scrubbing()
        if location in self.locations:
            self._record(ImageLocationRemoved(store=location.store, location=location.url), now)

    def fail_scrub(
        self,
        location: DataLocation,
        *,
        reason: str,
        attempts: int,
        retry_after: datetime,
        now: datetime,
    ) -> None:
        """A store kept failing: the image stays pending deletion until `retry_after`."""
        self._require_scrubbing()
        failed = ImageScrubFailed(
            store=location.store,
            location=location.url,
            reason=reason,
            attempts=attempts,
            retry_after=retry_after,
        )
        self._record(failed, now)

    def finish_scrub(self, now: datetime) -> None:
        """Every store's bytes are gone and recorded: the image is deleted for good."""
        self._require_scrubbing()
        if self.locations:
            raise Conflict(f"Image {self.id} still has data in store {self.locations[0].store}.")
        self._record(ImageScrubbed(), now)

    def add_tag(self, tag: str, quota: int, now: datetime) -> None:
        """Tags are a set: adding one already there changes nothing (and records nothing)."""
        self._require_live()
        if tag in self.tags:
            return
        if quota >= 0 and len(self.tags) + 1 > quota:
            raise TooLarge(
                f"Image tag limit exceeded for image {self.id}: The limit has been exceeded on"
                f" the number of allowed image tags. Attempted: {len(self.tags) + 1},"
                f" Maximum: {quota}"
            )
        self._record(ImageTagAdded(tag=tag), now)

    def remove_tag(self, tag: str, now: datetime) -> None:
        self._require_live()
        if tag not in self.tags:
            raise NotFound("The resource could not be found.")
        self._record(ImageTagRemoved(tag=tag), now)

    def update(
        self,
        operations: list[PatchOperation],
        *,
        tag_quota: int,
        property_quota: int,
        now: datetime,
        may: PropertyCheck = every_property,
    ) -> None:
        """All operations of one PATCH, applied together or not at all; no change, no event.
        `may`: what the caller may do to custom properties (property protections)."""
        self._require_live()
        updated = plan_update(
            self, operations, tag_quota=tag_quota, property_quota=property_quota, may=may
        )
        if updated is not None:
            self._record(updated, now)

    def add_member(self, member: str, quota: int, now: datetime) -> None:
        self._require_live()
        if self.visibility != "shared":
            raise Forbidden(f"Not allowed to create members for image {self.id}.")
        if member in self.members:
            raise Conflict(f"Member {member} is duplicated for image {self.id}")
        if 0 <= quota < len(self.members) + 1:
            raise TooLarge(
                f"Image member limit exceeded for image {self.id}: The limit has been exceeded"
                " on the number of allowed image members for this image."
                f" Attempted: {len(self.members) + 1}, Maximum: {quota}"
            )
        self._record(ImageMemberAdded(member=member), now)

    def change_member_status(self, member: str, status: str, now: datetime) -> None:
        """The same status again changes nothing and records nothing."""
        self._require_member(member)
        if self.members[member] != status:
            self._record(ImageMemberStatusChanged(member=member, status=status), now)

    def remove_member(self, member: str, now: datetime) -> None:
        self._require_member(member)
        self._record(ImageMemberRemoved(member=member), now)

    def is_member(self, project_id: str | None) -> bool:
        return project_id is not None and project_id in self.members

    def deactivate(self, now: datetime) -> None:
        """active → deactivated; already deactivated is a no-op; any other status: 403."""
        self._require_live()
        if self.status is ImageStatus.DEACTIVATED:
            return
        if self.status is not ImageStatus.ACTIVE:
            raise Forbidden(f"Not allowed to deactivate image in status '{self.status}'")
        self._record(ImageDeactivated(), now)

    def reactivate(self, now: datetime) -> None:
        """deactivated → active; already active is a no-op; any other status: 403."""
        self._require_live()
        if self.status is ImageStatus.ACTIVE:
            return
        if self.status is not ImageStatus.DEACTIVATED:
            raise Forbidden(f"Not allowed to reactivate image in status '{self.status}'")
        self._record(ImageReactivated(), now)

    # -- rules -----------------------------------------------------------------------------------

    def _require_live(self) -> None:
        if self.gone:
            raise NotFound(f"No image found with ID {self.id}")

    def _require_pending_delete(self) -> None:
        if self.status is not ImageStatus.PENDING_DELETE:
            raise Conflict(f"Image {self.id} is not pending deletion (status {self.status}).")

    def _require_scrubbing(self) -> None:
        self._require_pending_delete()
        if not self.scrub_started:
            raise Conflict(f"The scrubbing of image {self.id} has not started.")

    def _require_member(self, member: str) -> None:
        self._require_live()
        if member not in self.members:
            raise NotFound(f"{member} not found in the member list of the image {self.id}.")

    def _require_formats(self) -> None:
        if self.disk_format is None or self.container_format is None:
            raise BadRequest(FORMATS_REQUIRED)

    def _require_transfer_in_progress(
        self, target: ImageStatus, *, streaming: ImageStatus | None = None
    ) -> None:
        """Bytes are streaming in (only as `streaming`, if given) and may now go to `target`."""
        if self.status in GONE_STATUSES:
            raise Gone(f"Image {self.id} was deleted while its data was being uploaded.")
        if not self.transfer_in_progress or streaming not in (None, self.status):
            raise InvalidStatusTransition(str(self.status), target)

    # -- state -----------------------------------------------------------------------------------

    def apply(self, event: DomainEvent, at: datetime) -> None:
        """Change state by one event. Never raises for an event that is in the log."""
        match event:
            case ImageCreated():
                self.status = ImageStatus.QUEUED
                self.name = event.name
                self.owner = event.owner
                self.visibility = event.visibility
                self.protected = event.protected
                self.os_hidden = event.os_hidden
                self.min_ram = event.min_ram
                self.min_disk = event.min_disk
                self.properties = dict(event.properties)
                self.disk_format = event.disk_format
                self.container_format = event.container_format
                self.tags = set(event.tags)
                self.created_at = at
            case ImageUploadStarted():
                self.status = ImageStatus.UPLOADING if event.staging else ImageStatus.SAVING
                self.upload_location = event.location
                self.upload_node = event.node_id
                self.upload_store = event.store
            case ImageStaged():
                self.staged = event
                self.upload_node = None  # nothing streams any more; the bytes wait for import
            case ImageUploadFailed():
                self.status = ImageStatus.QUEUED
                self.upload_location = None
                self.upload_store = None
                self.staged = None
            case ImageUploaded() | ImageLocationAdded():
                self.data = event
                self.status = ImageStatus.ACTIVE
                self.upload_location = None
                self.upload_store = None
                self.staged = None
                self.rejected_locations = []  # the image has data now: only its own is listed
                self.locations.append(DataLocation(event.store, event.location))
            case ImageLocationRejected():
                rejected = DataLocation(event.store, event.location)
                if rejected not in self.rejected_locations:
                    self.rejected_locations.append(rejected)
            case ImageCopyStarted():
                self.copies[event.store] = CopyInProgress(event.location, event.node_id)
                return  # the image itself does not change until the copy is complete
            case ImageUploadClaimGrown():
                return  # a claim on the project's quota: the image itself does not change
            case ImageCopyFailed():
                self.copies.pop(event.store, None)
                self.import_progress = self.import_progress.failed_in(event.store)
            case ImageCopied():
                self.copies.pop(event.store, None)
                self.import_progress = self.import_progress.stored(event.store)
                self.locations.append(DataLocation(event.store, event.location))
            case ImageImportStarted():
                self.import_progress = self.import_progress.started(event.task_id, event.stores)
                if event.brings_data:
                    self.status = ImageStatus.IMPORTING
                    self.rejected_locations = []  # the data comes: only its own is listed
            case ImageImported():
                self.data = event
                self.status = ImageStatus.ACTIVE
                self.upload_location = None
                self.upload_store = None
                self.staged = None
            case ImageImportEnded():
                self.import_progress = self.import_progress.ended(event.task_id)
            case ImageLocationRemoved():
                self.locations = [loc for loc in self.locations if loc.url != event.location]
            case ImageTagAdded():
                self.tags.add(event.tag)
            case ImageTagRemoved():
                self.tags.discard(event.tag)
            case ImageDeactivated():
                self.status = ImageStatus.DEACTIVATED
            case ImageReactivated():
                self.status = ImageStatus.ACTIVE
            case ImageUpdated():
                for name, value in event.attributes.items():
                    setattr(self, name, value)
                self.properties.update(event.properties)
                for name in event.removed_properties:
                    self.properties.pop(name, None)
                if event.tags is not None:
                    self.tags = set(event.tags)
            case ImageMemberAdded():
                self.members[event.member] = "pending"
                return  # membership is not a change of the image itself
            case ImageMemberStatusChanged():
                self.members[event.member] = event.status
                return
            case ImageMemberRemoved():
                self.members.pop(event.member, None)
                return
            case ImageDeletePending():
                self.status = ImageStatus.PENDING_DELETE
                self.deletion = event
                self.scrub_started = False
                self.scrub_retry_after = None
                self.copies = {}  # their bytes went with the deletion (`discarded`)
            case ImageRestored():
                self.status = ImageStatus(event.status)
                self.deletion = None
                self.scrub_retry_after = None
            case ImageScrubStarted():
                self.scrub_started = True
                return  # bookkeeping of the deletion, not a change of the image
            case ImageScrubFailed():
                self.scrub_retry_after = event.retry_after
                return
            case ImageDeleted() | ImageScrubbed():
                self.status = ImageStatus.DELETED
                self.locations = []
                self.rejected_locations = []
                self.copies = {}
                self.upload_location = None
                self.staged = None
                self.deletion = None
            case ImageMigrated(glance=glance):
                self._adopt(glance)
                return  # Glance's own times
            case ImageGlanceSynced(glance=glance):
                self.glance = glance
                self.updated_at = glance.updated_at
                return
            case _:
                raise LookupError(f"Image cannot apply {type(event).__name__}")
        self.updated_at = at

    def _adopt(self, glance: GlanceImage) -> None:
        """Take Glance's state of the image as this image's."""
        self.glance = glance
        self.status = ImageStatus(glance.status)
        for name in ATTRIBUTES:
            setattr(self, name, getattr(glance, name))
        self.properties = dict(glance.properties)
        self.import_progress = ImportProgress.of(glance.properties)
        self.tags = set(glance.tags)
        self.members = {member.member: member.status for member in glance.members}
        if self.status is not ImageStatus.DELETED:
            self.locations = [DataLocation(loc.store, loc.url) for loc in glance.locations]
        if glance.size is not None:
            self.data = MigratedData(
                glance.size,
                glance.checksum,
                glance.os_hash_algo,
                glance.os_hash_value,
                glance.virtual_size,
            )
        self.created_at = glance.created_at
        self.updated_at = glance.updated_at
