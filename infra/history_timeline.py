"""An image's history as a timeline people read, one line per event (`catalog history`):
time, version, event type, actor, request id and what changed, e.g. (on one line)

    2026-11-23T10:01:02Z  v3    image.updated  by user u1 (project p1, roles admin,member)
    req-…  name: 'a' → 'b'

The image is folded along the way, so that a change can show what it replaced.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from catalog.events import (
    DomainEvent,
    EventMetadata,
    ImageCopied,
    ImageCopyFailed,
    ImageCopyStarted,
    ImageCreated,
    ImageDataSent,
    ImageDeactivated,
    ImageDeleted,
    ImageGlanceSynced,
    ImageImported,
    ImageImportEnded,
    ImageImportStarted,
    ImageLocationAdded,
    ImageLocationRemoved,
    ImageMemberAdded,
    ImageMemberRemoved,
    ImageMemberStatusChanged,
    ImageMigrated,
    ImageReactivated,
    ImageStaged,
    ImageTagAdded,
    ImageTagRemoved,
    ImageUpdated,
    ImageUploadClaimGrown,
    ImageUploaded,
    ImageUploadFailed,
    ImageUploadStarted,
    RecordedEvent,
    encode,
)
from catalog.identity import Actor
from catalog.image import Image
from catalog.policy import Policy
from catalog.ports import AuditLog
from catalog.queries.image_history import HistoryEntry, HistoryQuery, image_history

OPERATOR = Actor(user_id="catalog", roles=("admin",), system_scope="all")
"""Who runs `catalog history`: whoever holds the database may read every image's history
(a system-scoped admin, under the default rules whatever the API's policy file says)."""
PAGE = 1000
TYPE_WIDTH = len("image.member_status_changed")
VERSION_WIDTH = 4
TIME = "%Y-%m-%dT%H:%M:%SZ"


def shown(value: Any) -> str:
    """A value as Python would write it; nothing at all as `(none)`."""
    return "(none)" if value is None else repr(value)


def actor_text(metadata: EventMetadata) -> str:
    actor = metadata.actor
    project = actor.project_id or "-"
    roles = ",".join(actor.roles) or "-"
    return f"by user {actor.user_id or '-'} (project {project}, roles {roles})"


def request_text(metadata: EventMetadata) -> str:
    text = metadata.request_id or "-"
    if metadata.global_request_id:
        text += f" (global {metadata.global_request_id})"
    return text


def timeline_line(recorded: RecordedEvent, description: str, *, own: bool = True) -> str:
    """One line of a timeline (an image's, a task's): the event's time, its version (`--` for
    an event not of the stream told, such as a download's), type, actor and request id, then
    `description`."""
    columns = (
        recorded.occurred_at.strftime(TIME),
        (f"v{recorded.version}" if own else "--").ljust(VERSION_WIDTH),
        recorded.event_type.ljust(TYPE_WIDTH),
        actor_text(recorded.metadata),
        request_text(recorded.metadata),
        description,
    )
    return "  ".join(columns)


def _created(event: ImageCreated) -> str:
    given = event.model_dump(mode="json", exclude_defaults=True, exclude={"properties"})
    given.update(event.properties)
    fields = ", ".join(f"{name}={shown(value)}" for name, value in given.items())
    return f"created: {fields}" if fields else "created"


def _glance_time(value: datetime) -> str:
    return value.strftime(TIME)


def _migrated(event: ImageMigrated) -> str:
    """Where the image came from, and what it was there."""
    glance = event.glance
    stores = ",".join(dict.fromkeys(location.store for location in glance.locations))
    parts = [
        f"from {event.source}: status {glance.status}",
        f"created {_glance_time(glance.created_at)}",
        f"updated {_glance_time(glance.updated_at)}",
    ]
    if glance.size is not None:
        parts.append(f"{glance.size} bytes" + (f" in store {stores}" if stores else ""))
    if glance.members:
        parts.append(f"{len(glance.members)} member(s)")
    return "migrated " + ", ".join(parts)


def _change(name: str, old: Any, new: str) -> str:
    return f"{name}: {shown(old)} → {new}"


def _updated(before: Image, event: ImageUpdated) -> str:
    old = before.properties
    changes = [_change(k, getattr(before, k), shown(v)) for k, v in event.attributes.items()]
    changes += [_change(k, old.get(k), shown(v)) for k, v in event.properties.items()]
    changes += [_change(k, old.get(k), "(removed)") for k in event.removed_properties]
    if event.tags is not None:
        added = [f"+{t}" for t in sorted(set(event.tags) - before.tags)]
        removed = [f"-{t}" for t in sorted(before.tags - set(event.tags))]
        changes.append("tags: " + " ".join([*added, *removed]))
    return "; ".join(changes)


def _data(size: int, store: str, checksum: str) -> str:
    return f"{size} bytes in store {store}, checksum {checksum}"


def describe(before: Image, event: DomainEvent) -> str:
    """What `event` changed, in a few words; `before` is the image as it was just before."""
    match event:
        case ImageCreated():
            return _created(event)
        case ImageUpdated():
            return _updated(before, event)
        case ImageUploadStarted():
            what = "staging" if event.staging else "upload"
            expected = "" if event.expected_size is None else f", {event.expected_size} bytes"
            return f"{what} into store {event.store} started{expected}"
        case ImageStaged():
            return f"staged {event.size} bytes, checksum {event.checksum}"
        case ImageUploadClaimGrown():
            return f"upload claims {event.reserved} bytes of the project's storage quota"
        case ImageUploadFailed():
            return f"upload failed: {event.reason}"
        case ImageUploaded():
            return "data: " + _data(event.size, event.store, event.checksum)
        case ImageLocationAdded():
            return "location added: " + _data(event.size, event.store, event.checksum)
        case ImageCopyStarted():
            return f"copy into store {event.store} started"
        case ImageCopied():
            return f"copied into store {event.store}"
        case ImageCopyFailed():
            return f"copy into store {event.store} failed: {event.reason}"
        case ImageImportStarted():
            return f"import into {', '.join(event.stores)} started by task {event.task_id}"
        case ImageImported():
            return f"data imported: {event.size} bytes, checksum {event.checksum}"
        case ImageImportEnded():
            return f"import of task {event.task_id} ended"
        case ImageLocationRemoved():
            return f"data removed from store {event.store}"
        case ImageDeleted():
            count = len(event.locations)
            return "deleted" + (f", {count} data location(s) to remove" if count else "")
        case ImageTagAdded():
            return f"tags: +{event.tag}"
        case ImageTagRemoved():
            return f"tags: -{event.tag}"
        case ImageDeactivated() | ImageReactivated():
            after = "deactivated" if isinstance(event, ImageDeactivated) else "active"
            status = str(before.status) if before.status else None
            return f"status: {shown(status)} → {shown(after)}"
        case ImageMemberAdded():
            return f"member {event.member} added (pending)"
        case ImageMemberStatusChanged():
            previous = before.members.get(event.member)
            return f"member {event.member}: {shown(previous)} → {shown(event.status)}"
        case ImageMemberRemoved():
            return f"member {event.member} removed"
        case ImageMigrated():
            return _migrated(event)
        case ImageGlanceSynced():
            return f"Glance's change of {_glance_time(event.glance.updated_at)} recorded"
        case ImageDataSent():
            sent = f"sent {event.bytes_sent} of {event.requested} bytes from store {event.store}"
            return sent + (f" at offset {event.offset}" if event.offset else "")
        case _:
            return json.dumps(encode(event), sort_keys=True)


class Timeline:
    """Lines for one image's history entries, given in order."""

    def __init__(self, image_id: uuid.UUID) -> None:
        self._image = Image(image_id)

    def line(self, entry: HistoryEntry) -> str:
        recorded = entry.recorded
        own = recorded.stream_id == self._image.id  # else a download, on a stream of its own
        change = describe(self._image, entry.event)
        if own:
            self._image.apply(entry.event, recorded.occurred_at)
        return timeline_line(recorded, change, own=own)


async def timeline(log: AuditLog, image_id: uuid.UUID, *, downloads: bool) -> AsyncIterator[str]:
    """Every line of the image's timeline, page by page; `NotFound` if it never existed."""
    lines, after = Timeline(image_id), 0
    while True:
        query = HistoryQuery(after=after, limit=PAGE, downloads=downloads)
        page = await image_history(log, image_id, OPERATOR, query, Policy())
        for entry in page.entries:
            yield lines.line(entry)
        if page.next_after is None:
            return
        after = page.next_after
