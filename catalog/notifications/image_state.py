"""What Glance's image notifications need to know of an image, kept event by event.

Glance's image payload is the image's whole visible state, so each image notification needs the
image as its event left it. That state is folded here, not taken from the `Image` aggregate: the
aggregate keeps everything a command decides on (locations, uploads, copies, imports, deletion,
Glance's own record of a migrated image, pydantic events as its data), a few thousand bytes of
objects per image, while a payload needs a score of plain fields. A consumer catching up with a
long log keeps the state of every image it has seen lately, so the smaller the state, the more
images it keeps at hand and the less it costs to keep them.

Nor from the image view: the notifications consumer may be far behind the views (a catch-up
from the log's start), and a payload tells the image as of its event, not as of now.

Each field changes as `Image.apply` changes the attribute of the same name (tests fold both
through every event type and compare); times are kept as Glance's text, written once each.
"""

from __future__ import annotations

import json
import sys
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

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
from catalog.glance_migration import ATTRIBUTES
from catalog.notifications.base import isotime
from catalog.notifications.json_text import json_value, quoted

PAYLOAD_ATTRIBUTES = frozenset(ATTRIBUTES) - {"os_hidden"}
"""The attributes an `image.updated` may change that Glance's payload carries."""

_UNCHANGED = (
    ImageCopyStarted,
    ImageUploadClaimGrown,
    ImageScrubStarted,
    ImageScrubFailed,
    ImageMemberAdded,
    ImageMemberStatusChanged,
    ImageMemberRemoved,
)
"""Events that leave the image itself (and its `updated_at`) as it was."""
_TOUCHED = (
    ImageLocationRejected,
    ImageCopyFailed,
    ImageCopied,
    ImageImportEnded,
    ImageLocationRemoved,
)
"""Events that change nothing a payload shows but the image's `updated_at`."""


def _one_copy(value: Any) -> Any:
    """A text many images repeat (owners, formats, property names and values, members) kept
    once for all of them; other values as they are."""
    return sys.intern(value) if type(value) is str else value


def _properties(properties: Mapping[str, str]) -> dict[str, str]:
    return {_one_copy(name): _one_copy(value) for name, value in properties.items()}


class ImageState:
    """One image as its notifications tell it: a small record of plain values (the properties
    a dict of texts, the tags a sorted tuple; no objects of its own to walk or copy)."""

    __slots__ = (
        "_properties_json",
        "_tags_json",
        "checksum",
        "container_format",
        "created_at",
        "data_size",
        "data_virtual_size",
        "disk_format",
        "id",
        "members",
        "min_disk",
        "min_ram",
        "name",
        "owner",
        "properties",
        "protected",
        "staged",
        "status",
        "tags",
        "updated_at",
        "visibility",
    )

    def __init__(self, image_id: uuid.UUID) -> None:
        self.id = str(image_id)
        self.status: str | None = None
        self.name: str | None = None
        self.owner: str | None = None
        self.visibility = "shared"
        self.protected = False
        self.min_ram = 0
        self.min_disk = 0
        self.disk_format: str | None = None
        self.container_format: str | None = None
        self.properties: dict[str, str] = {}
        """Replaced, never changed in place: payloads already built may hold it."""
        self.tags: tuple[str, ...] = ()
        """Sorted, as payloads show them."""
        self.checksum: str | None = None
        self.data_size: int | None = None
        """The size of the image's data; None while it has none."""
        self.data_virtual_size: int | None = None
        self.staged: tuple[int, int | None] | None = None
        """Staged bytes waiting for their import: (size, virtual size)."""
        self.created_at: str | None = None
        self.updated_at: str | None = None
        """Glance's text of the times (`isotime`)."""
        self.members: dict[str, str] = {}
        """Member project id -> membership status."""
        self._properties_json: tuple[dict[str, str], str] | None = None
        self._tags_json: tuple[tuple[str, ...], str] | None = None
        """The JSON text of the properties and of the tags, with what it was written of: each
        is replaced when it changes, never changed in place, so the same object is the same
        text (and the text is written again only after a change)."""

    def stored(self) -> list[Any]:
        """The state as JSON values, to keep outside the process (`restored` reads it back);
        the JSON texts kept of the properties and the tags are written again when needed."""
        return [
            self.status,
            self.name,
            self.owner,
            self.visibility,
            self.protected,
            self.min_ram,
            self.min_disk,
            self.disk_format,
            self.container_format,
            self.properties,
            self.tags,
            self.checksum,
            self.data_size,
            self.data_virtual_size,
            self.staged,
            self.created_at,
            self.updated_at,
            self.members,
        ]

    @classmethod
    def restored(cls, image_id: uuid.UUID, stored: list[Any]) -> ImageState:
        """The state `stored` gave, its texts many images repeat kept once again."""
        state = cls(image_id)
        (
            state.status,
            state.name,
            owner,
            visibility,
            state.protected,
            state.min_ram,
            state.min_disk,
            disk_format,
            container_format,
            properties,
            tags,
            state.checksum,
            state.data_size,
            state.data_virtual_size,
            staged,
            state.created_at,
            state.updated_at,
            members,
        ) = stored
        state.owner, state.visibility = _one_copy(owner), _one_copy(visibility)
        state.disk_format = _one_copy(disk_format)
        state.container_format = _one_copy(container_format)
        state.properties = _properties(properties)
        state.tags = tuple(tags)
        state.staged = None if staged is None else (staged[0], staged[1])
        state.members = {_one_copy(m): _one_copy(status) for m, status in members.items()}
        return state

    def payload(self) -> dict[str, Any]:
        """`format_image_notification`: deliberately without locations (they may hold secrets).
        Staged bytes show their size before they become the image's data."""
        size, virtual_size = self._sizes()
        return {
            "id": self.id,
            "name": self.name,
            "status": str(self.status),
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "min_disk": self.min_disk,
            "min_ram": self.min_ram,
            "protected": self.protected,
            "checksum": self.checksum,
            "owner": self.owner,
            "disk_format": self.disk_format,
            "container_format": self.container_format,
            "size": size,
            "virtual_size": virtual_size,
            "is_public": self.visibility == "public",
            "visibility": self.visibility,
            "properties": self.properties,
            "tags": list(self.tags),
            "deleted": False,
            "deleted_at": None,
        }

    def payload_json(self, deleted_at: str | None = None) -> str:
        """`json.dumps(self.payload())`, joined from each field's JSON text (the properties'
        and the tags' written once per change); with `deleted_at` (Glance's text of the time),
        that of the payload Glance's `image.delete` carries (`deleted` true, and that time)."""
        size, virtual_size = self._sizes()
        deleted = (
            'false, "deleted_at": null'
            if deleted_at is None
            else f'true, "deleted_at": {quoted(deleted_at)}'
        )
        return (
            f'{{"id": {quoted(self.id)}, "name": {json_value(self.name)},'
            f' "status": {quoted(str(self.status))},'
            f' "created_at": {json_value(self.created_at)},'
            f' "updated_at": {json_value(self.updated_at)},'
            f' "min_disk": {json_value(self.min_disk)}, "min_ram": {json_value(self.min_ram)},'
            f' "protected": {json_value(self.protected)},'
            f' "checksum": {json_value(self.checksum)}, "owner": {json_value(self.owner)},'
            f' "disk_format": {json_value(self.disk_format)},'
            f' "container_format": {json_value(self.container_format)},'
            f' "size": {json_value(size)}, "virtual_size": {json_value(virtual_size)},'
            f' "is_public": {"true" if self.visibility == "public" else "false"},'
            f' "visibility": {json_value(self.visibility)},'
            f' "properties": {self._properties_text()}, "tags": {self._tags_text()},'
            f' "deleted": {deleted}}}'
        )

    def _sizes(self) -> tuple[int | None, int | None]:
        """The size and virtual size a payload shows: staged bytes' until there is data."""
        size, virtual_size, staged = self.data_size, self.data_virtual_size, self.staged
        if staged is not None:
            size = staged[0] if size is None else size
            virtual_size = staged[1] if virtual_size is None else virtual_size
        return size, virtual_size

    def _properties_text(self) -> str:
        written = self._properties_json
        if written is None or written[0] is not self.properties:
            written = self._properties_json = (self.properties, json.dumps(self.properties))
        return written[1]

    def _tags_text(self) -> str:
        written = self._tags_json
        if written is None or written[0] is not self.tags:
            written = self._tags_json = (self.tags, json.dumps(self.tags))
        return written[1]

    def apply(self, event: DomainEvent, at: datetime) -> None:
        """Change the state by one event of the image's stream, as `Image.apply` does."""
        if isinstance(event, _UNCHANGED):
            self._membership(event)  # of these events, what a notification may tell
            return
        if not isinstance(event, _TOUCHED):
            self._change(event)
        if isinstance(event, ImageMigrated | ImageGlanceSynced):
            return  # Glance's own times
        self.updated_at = isotime(at)
        if isinstance(event, ImageCreated):
            self.created_at = self.updated_at

    def _membership(self, event: DomainEvent) -> None:
        match event:
            case ImageMemberAdded(member=member):
                self.members[_one_copy(member)] = "pending"
            case ImageMemberStatusChanged(member=member, status=status):
                self.members[_one_copy(member)] = _one_copy(status)
            case ImageMemberRemoved(member=member):
                self.members.pop(member, None)

    def _change(self, event: DomainEvent) -> None:
        match event:
            case ImageCreated():
                self._created(event)
            case ImageUpdated():
                self._updated(event)
            case ImageTagAdded(tag=tag):
                self.tags = tuple(sorted({*self.tags, tag}))
            case ImageTagRemoved(tag=tag):
                self.tags = tuple(t for t in self.tags if t != tag)
            case ImageUploadStarted(staging=staging):
                self.status = "uploading" if staging else "saving"
            case ImageStaged(size=size, virtual_size=virtual_size):
                self.staged = (size, virtual_size)
            case ImageUploadFailed():
                self.status, self.staged = "queued", None
            case ImageUploaded() | ImageImported():
                self._has_data(event.size, event.checksum, event.virtual_size)
            case ImageLocationAdded():
                self._has_data(event.size, event.checksum, None)
            case ImageImportStarted(brings_data=True):
                self.status = "importing"
            case ImageImportStarted():
                pass
            case ImageDeactivated():
                self.status = "deactivated"
            case ImageReactivated():
                self.status = "active"
            case ImageDeletePending():
                self.status = "pending_delete"
            case ImageRestored(status=status):
                self.status = status
            case ImageDeleted() | ImageScrubbed():
                self.status, self.staged = "deleted", None
            case ImageMigrated(glance=glance):
                self._adopt(glance)
            case ImageGlanceSynced(glance=glance):
                self.updated_at = isotime(glance.updated_at)
            case _:
                raise LookupError(f"Image cannot apply {type(event).__name__}")

    def _created(self, event: ImageCreated) -> None:
        self.status = "queued"
        self.name, self.owner = event.name, _one_copy(event.owner)
        self.visibility = _one_copy(event.visibility)
        self.protected, self.min_ram, self.min_disk = event.protected, event.min_ram, event.min_disk
        self.disk_format = _one_copy(event.disk_format)
        self.container_format = _one_copy(event.container_format)
        self.properties = _properties(event.properties)
        self.tags = tuple(sorted(set(event.tags)))

    def _updated(self, event: ImageUpdated) -> None:
        for name, value in event.attributes.items():
            if name in PAYLOAD_ATTRIBUTES:
                setattr(self, name, _one_copy(value))
        if event.properties or event.removed_properties:
            properties = dict(self.properties)  # payloads built already may hold the old one
            properties.update(_properties(event.properties))
            for name in event.removed_properties:
                properties.pop(name, None)
            self.properties = properties
        if event.tags is not None:
            self.tags = tuple(sorted(set(event.tags)))

    def _has_data(self, size: int, checksum: str, virtual_size: int | None) -> None:
        self.status, self.staged = "active", None
        self.data_size, self.checksum, self.data_virtual_size = size, checksum, virtual_size

    def _adopt(self, glance: GlanceImage) -> None:
        """Glance's state of the image as this image's."""
        self.status = glance.status
        for name in PAYLOAD_ATTRIBUTES:
            setattr(self, name, _one_copy(getattr(glance, name)))
        self.properties = _properties(glance.properties)
        self.tags = tuple(sorted(set(glance.tags)))
        self.members = {_one_copy(m.member): _one_copy(m.status) for m in glance.members}
        if glance.size is not None:
            self.data_size, self.checksum = glance.size, glance.checksum
            self.data_virtual_size = glance.virtual_size
        self.created_at, self.updated_at = isotime(glance.created_at), isotime(glance.updated_at)
