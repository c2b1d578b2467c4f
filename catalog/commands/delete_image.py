"""Delete an image and reclaim its data: DELETE /v2/images/{id}."""

from __future__ import annotations

import uuid

import structlog

from catalog.commands.access import require_owner_action
from catalog.commands.base import Command
from catalog.commands.context import CommandContext
from catalog.errors import CatalogError
from catalog.events import EventMetadata
from catalog.image import Image

log = structlog.get_logger(__name__)


class DeleteImage(Command):
    image_id: uuid.UUID


async def delete_image(
    command: DeleteImage, context: CommandContext, metadata: EventMetadata
) -> None:
    actor = metadata.actor
    now = context.clock.now()

    def decide(image: Image) -> list[str]:
        missing = f"Failed to find image {command.image_id} to delete"
        require_owner_action(image, actor, "delete_image", missing)
        doomed = image.data_locations
        image.delete(now)
        return doomed

    doomed = await context.images.change(command.image_id, metadata, decide)
    # The deletion is committed; the bytes go now. The event lists every location, so data
    # that could not be removed here can still be found and reclaimed from the log.
    for location in doomed:
        try:
            _, store = context.stores.for_location(location)
            await store.delete(location)
        except CatalogError as e:
            log.warning("image_data_delete_failed", image_id=str(command.image_id), error=str(e))
