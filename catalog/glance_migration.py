"""What a migration from Glance records: an image's first events, and the events of what
changed in Glance between two runs.

Pure. Later runs compare Glance's state now with the state the last run recorded (not with
the catalog's), so a change made in the catalog after the switch-over stays unless Glance
changed the same thing; the changes are the events the catalog's own commands record for
them, so views, history and notifications treat them as any other change.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from catalog.errors import Conflict
from catalog.events import (
    DomainEvent,
    ImageCopied,
    ImageDeactivated,
    ImageDeleted,
    ImageDeletePending,
    ImageGlanceSynced,
    ImageLocationAdded,
    ImageLocationRemoved,
    ImageMemberAdded,
    ImageMemberRemoved,
    ImageMemberStatusChanged,
    ImageMigrated,
    ImageReactivated,
    ImageRestored,
    ImageUpdated,
)
from catalog.events.glance_state import GlanceImage
from catalog.image_patch import BASE_ATTRIBUTES

ATTRIBUTES = tuple(name for name in BASE_ATTRIBUTES if name != "tags")
"""The attributes an image has as Glance has them, changed by `image.updated`."""

_WITH_DATA = ("active", "deactivated")
_GONE = ("deleted", "pending_delete")


def migration_of(glance: GlanceImage, scrub_time: timedelta) -> list[DomainEvent]:
    """The events a migrated image's stream begins with."""
    events: list[DomainEvent] = [ImageMigrated(source="glance", glance=glance)]
    if glance.status == "pending_delete":
        events.append(_delete_pending(glance, "active", scrub_time))
    return events


def changes_in_glance(
    seen: GlanceImage, now: GlanceImage, scrub_time: timedelta
) -> list[DomainEvent]:
    """The events of what changed in Glance from `seen` (the last run's) to `now`; none if
    nothing did. `Conflict` for a change no event of the catalog can record."""
    if now == seen:
        return []
    events = [*_updated(seen, now), *_members(seen, now)]
    if now.status not in _GONE:
        events += _data(seen, now)
    events += _status(seen, now, scrub_time)
    return [*events, ImageGlanceSynced(glance=now)]


def _updated(seen: GlanceImage, now: GlanceImage) -> list[DomainEvent]:
    attributes = {
        name: getattr(now, name) for name in ATTRIBUTES if getattr(now, name) != getattr(seen, name)
    }
    properties = {k: v for k, v in now.properties.items() if seen.properties.get(k) != v}
    removed = tuple(k for k in seen.properties if k not in now.properties)
    tags = tuple(sorted(now.tags)) if set(now.tags) != set(seen.tags) else None
    if not (attributes or properties or removed or tags is not None):
        return []
    return [
        ImageUpdated(
            attributes=attributes, properties=properties, removed_properties=removed, tags=tags
        )
    ]


def _members(seen: GlanceImage, now: GlanceImage) -> list[DomainEvent]:
    before = {m.member: m.status for m in seen.members}
    after = {m.member: m.status for m in now.members}
    events: list[DomainEvent] = []
    for member, status in after.items():
        if member not in before:
            events.append(ImageMemberAdded(member=member))
        if status != before.get(member, "pending"):
            events.append(ImageMemberStatusChanged(member=member, status=status))
    events += [ImageMemberRemoved(member=m) for m in before if m not in after]
    return events


def _data(seen: GlanceImage, now: GlanceImage) -> list[DomainEvent]:
    before = {loc.url for loc in seen.locations}
    added = [loc for loc in now.locations if loc.url not in before]
    events: list[DomainEvent] = []
    if not before and added and now.size is not None:
        first, *added = added
        events.append(
            ImageLocationAdded(
                store=first.store,
                location=first.url,
                size=now.size,
                checksum=now.checksum or "",
                os_hash_algo=now.os_hash_algo or "",
                os_hash_value=now.os_hash_value or "",
                metadata={k: str(v) for k, v in first.metadata.items()},
            )
        )
    events += [ImageCopied(store=loc.store, location=loc.url) for loc in added]
    after = {loc.url for loc in now.locations}
    events += [
        ImageLocationRemoved(store=loc.store, location=loc.url)
        for loc in seen.locations
        if loc.url not in after
    ]
    return events


def _status(seen: GlanceImage, now: GlanceImage, scrub_time: timedelta) -> list[DomainEvent]:
    was, status = seen.status, now.status
    arrived = bool(now.locations) and not seen.locations  # active by `image.location_added`
    if status == was or (status == "active" and arrived):
        return []
    if status == "deleted":
        return [ImageDeleted()]  # Glance removed the bytes itself
    if status == "pending_delete":
        return [
            _delete_pending(now, "deactivated" if was == "deactivated" else "active", scrub_time)
        ]
    if was == "pending_delete" and status in _WITH_DATA:
        return [ImageRestored(status="active" if status == "active" else "deactivated")]
    if status == "deactivated" and (was == "active" or arrived):
        return [ImageDeactivated()]
    if (was, status) == ("deactivated", "active"):
        return [ImageReactivated()]
    raise Conflict(
        f"Glance changed its status from {was} to {status}, which the catalog cannot follow."
    )


def _delete_pending(
    glance: GlanceImage, previous: Literal["active", "deactivated"], scrub_time: timedelta
) -> ImageDeletePending:
    """Glance's delayed delete, kept: the data stays until the catalog's scrubber removes it,
    `scrub_time` after Glance deleted the image."""
    return ImageDeletePending(
        locations=tuple(loc.url for loc in glance.locations),
        previous_status=previous,
        scrub_after=(glance.deleted_at or glance.updated_at) + scrub_time,
    )
