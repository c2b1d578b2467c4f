"""Bring one image of a Glance database into the catalog (`catalog import-glance`).

The operator's own command, so no policy rule or quota applies (Glance already let the image
be). An image new to the catalog gets a stream beginning with `image.migrated`; one a previous
run brought gets the events of what changed in Glance since (none when nothing did). Each
image's events go in one append, so a run cut short leaves every image migrated or not, and
the next run carries on.
"""

from __future__ import annotations

import uuid
from enum import StrEnum

from catalog.commands.base import Command
from catalog.commands.context import CommandContext
from catalog.errors import ConcurrencyConflict
from catalog.events import EventMetadata
from catalog.events.glance_state import GlanceImage
from catalog.image import Image


class MigrateGlanceImage(Command):
    image_id: uuid.UUID
    glance: GlanceImage
    """The image as Glance has it now, its locations mapped to the catalog's stores."""
    new_allowed: bool = True
    """False: only follow an image a previous run brought (one Glance has deleted, when
    deleted images are not asked for); a new one is `skipped`."""


class Migrated(StrEnum):
    IMPORTED = "imported"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    SKIPPED = "skipped"


async def migrate_glance_image(
    command: MigrateGlanceImage, context: CommandContext, metadata: EventMetadata
) -> Migrated:
    scrub_time = context.deletion.scrub_time
    if not (await context.images.load(command.image_id)).exists:
        if not command.new_allowed:
            return Migrated.SKIPPED
        image = Image.migrate(command.image_id, command.glance, context.clock.now(), scrub_time)
        try:
            await context.images.save(image, metadata)
            return Migrated.IMPORTED
        except ConcurrencyConflict:
            pass  # another run brought it meanwhile: follow Glance from what that one saw

    def follow(image: Image) -> int:
        return image.follow_glance(command.glance, context.clock.now(), scrub_time)

    changes = await context.images.change(command.image_id, metadata, follow)
    return Migrated.UPDATED if changes else Migrated.UNCHANGED
