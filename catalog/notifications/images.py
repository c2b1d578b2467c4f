"""Glance's `image.*` notifications, derived from the events of an image's life
(`format_image_notification`, `ImageProxy`, `ImageRepoProxy`, `ImageMemberRepoProxy` in
`glance/notifier.py`)."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any, Self

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
    ImageImported,
    ImageLocationAdded,
    ImageLocationRemoved,
    ImageMemberAdded,
    ImageMemberRemoved,
    ImageMemberStatusChanged,
    ImageReactivated,
    ImageRestored,
    ImageStaged,
    ImageTagAdded,
    ImageTagRemoved,
    ImageUpdated,
    ImageUploaded,
    ImageUploadFailed,
    ImageUploadStarted,
)
from catalog.identity import Actor
from catalog.image import ImageStatus
from catalog.notifications.base import (
    ERROR,
    INFO,
    Notification,
    StreamNotifications,
    deleted_at,
    isotime,
)
from catalog.notifications.image_state import ImageState
from catalog.notifications.json_text import with_items


def _import_stores(importing: tuple[str, ...] = ()) -> dict[str, Any]:
    # Glance reads these from the image's `os_glance_*` properties during an import.
    return {"os_glance_importing_to_stores": list(importing), "os_glance_failed_import": []}


def _with_items(
    event_type: str, payload: dict[str, Any], text: str, more: dict[str, Any]
) -> Notification:
    """A notification whose payload is the image's with `more` items after its own."""
    return Notification(event_type, {**payload, **more}, payload_json=with_items(text, more))


class ImageNotifications(StreamNotifications):
    """The notifications of one image, from what they need of it (`ImageState`), not the
    aggregate. Downloads are not the image's events (they have streams of their own): see
    `sent_notification`."""

    __slots__ = ("image", "member_since")
    stored_form = True

    def __init__(self, image_id: uuid.UUID) -> None:
        super().__init__(image_id)
        self.image = ImageState(image_id)
        self.member_since: dict[str, datetime] = {}

    @property
    def ended(self) -> bool:
        return self.image.status == ImageStatus.DELETED

    def stored(self) -> str:
        since = {member: at.isoformat() for member, at in self.member_since.items()}
        return json.dumps([self.image.stored(), since], separators=(",", ":"))

    @classmethod
    def restored(cls, stream_id: uuid.UUID, version: int, stored: str) -> Self:
        state, since = json.loads(stored)
        fold = cls(stream_id)
        fold.version = version
        fold.image = ImageState.restored(stream_id, state)
        fold.member_since = {member: datetime.fromisoformat(at) for member, at in since.items()}
        return fold

    def _fold(self, event: DomainEvent, at: datetime) -> None:
        self.image.apply(event, at)
        match event:
            case ImageMemberAdded(member=member) | ImageMemberStatusChanged(member=member):
                self.member_since.setdefault(member, at)
            case ImageMemberRemoved(member=member):
                self.member_since.pop(member, None)

    def _notifications(self, event: DomainEvent, at: datetime) -> list[Notification]:
        before = self.image.status
        if isinstance(event, ImageMemberAdded | ImageMemberStatusChanged | ImageMemberRemoved):
            since = self.member_since.get(event.member, at)
            self._fold(event, at)
            return [self._member(event, since, at)]
        self._fold(event, at)
        return self._image(event, before, at)

    def _image(self, event: DomainEvent, before: str | None, at: datetime) -> list[Notification]:
        match event:
            case ImageCopyFailed(store=store, reason=reason):
                failed = f"Failed to copy image {self.image.id} to store {store}: {reason}"
                return [Notification("image.upload", failed, ERROR)]
            case ImageDeleted() | ImageDeletePending():
                # A delayed delete is Glance's delete too (status `pending_delete`); what the
                # scrubber does afterwards is not notified, as in Glance.
                deleted = deleted_at(self.image.payload(), at)
                text = self.image.payload_json(deleted_at=deleted["deleted_at"])
                return [Notification("image.delete", deleted, payload_json=text)]
            case ImageLocationRemoved() if before == ImageStatus.PENDING_DELETE:
                return []
        return self._with_payload(event, before)

    def _with_payload(self, event: DomainEvent, before: str | None) -> list[Notification]:
        """The notifications that carry the image's payload as `event` left it."""
        payload, text = self.image.payload(), self.image.payload_json()
        update = Notification("image.update", payload, payload_json=text)
        match event:
            case ImageCreated():
                return [Notification("image.create", payload, payload_json=text)]
            case ImageUploadStarted(staging=False, store=store):
                prepare = {**_import_stores(), "backend": store}
                return [update, _with_items("image.prepare", payload, text, prepare)]
            case ImageUploaded() | ImageImported():
                done = [_with_items("image.upload", payload, text, _import_stores())]
                if before != ImageStatus.ACTIVE:
                    done.append(Notification("image.activate", payload, payload_json=text))
                return [*done, update]
            case ImageUploadFailed(reason=reason) if before == ImageStatus.SAVING:
                failed = f"Failed to upload image data for image {self.image.id}: {reason}"
                return [Notification("image.upload", failed, ERROR), update]
            case ImageCopyStarted(store=store):
                prepare = {**_import_stores((store,)), "backend": store}
                return [_with_items("image.prepare", payload, text, prepare)]
            case ImageCopied():
                return [_with_items("image.upload", payload, text, _import_stores()), update]
            case (
                ImageUploadStarted()
                | ImageStaged()
                | ImageUploadFailed()
                | ImageLocationAdded()
                | ImageLocationRemoved()
                | ImageTagAdded()
                | ImageTagRemoved()
                | ImageUpdated()
                | ImageDeactivated()
                | ImageReactivated()
                | ImageRestored()
            ):
                return [update]
        return []

    def _member(
        self,
        event: ImageMemberAdded | ImageMemberStatusChanged | ImageMemberRemoved,
        since: datetime,
        at: datetime,
    ) -> Notification:
        """The membership as `event` left it; `since`: when it began."""
        member = event.member
        payload: dict[str, Any] = {
            "image_id": self.image.id,
            "member_id": member,
            "status": self.image.members.get(member, "pending"),
            "created_at": isotime(since),
            "updated_at": isotime(at),
            "deleted": False,
            "deleted_at": None,
        }
        match event:
            case ImageMemberAdded():
                return Notification("image.member.create", payload)
            case ImageMemberStatusChanged():
                return Notification("image.member.update", payload)
        return Notification("image.member.delete", deleted_at(payload, at))


def sent_notification(event: ImageDataSent, receiver: Actor) -> Notification:
    """`image.send`: ERROR when fewer bytes went out than the response was to carry."""
    payload = {
        "bytes_sent": event.bytes_sent,
        "image_id": event.image_id,
        "owner_id": event.owner,
        "receiver_tenant_id": receiver.project_id,
        "receiver_user_id": receiver.user_id,
    }
    return Notification("image.send", payload, INFO if event.complete else ERROR)
