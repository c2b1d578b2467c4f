"""Undo a delayed delete: POST /v2/images/{id}/actions/restore (admins), `catalog images restore`.

Glance restores only from its scrubber's command line (`glance-scrubber --restore`); here it is
also an admin API call. Only an image `pending_delete` whose scrub has not started comes back,
to the status it had (active or deactivated), with its data, tags and members.
"""

from __future__ import annotations

import uuid

from catalog.commands.base import Command
from catalog.commands.context import CommandContext
from catalog.events import EventMetadata
from catalog.image import Image, ImageStatus


class RestoreImage(Command):
    image_id: uuid.UUID


async def restore_image(
    command: RestoreImage, context: CommandContext, metadata: EventMetadata
) -> ImageStatus:
    """The status the image is back in. 403 for callers the `restore_image` rule refuses
    (all but admins by default; whatever the id: a deleted image is no one's to see), 404 for
    an image that never existed, 409 for one not pending deletion or whose scrub has
    started."""
    context.policy.enforce(metadata.actor, "restore_image")

    def decide(image: Image) -> ImageStatus:
        image.restore(context.clock.now())
        assert image.status is not None
        return image.status

    return await context.images.change(command.image_id, metadata, decide)
