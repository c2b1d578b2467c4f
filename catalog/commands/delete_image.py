"""Delete an image and reclaim its data: DELETE /v2/images/{id}.

With delayed delete on, an image with stored data only becomes `pending_delete`: its bytes stay
for the scrubber (`scrub_image`), and an admin can restore it until the scrub starts.
"""

from __future__ import annotations

import uuid

import structlog

from catalog.commands.access import require
from catalog.commands.base import Command
from catalog.commands.context import CommandContext
from catalog.commands.shared_data import release_data
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
    deletion = context.deletion

    def decide(image: Image) -> list[str]:
        missing = f"Failed to find image {command.image_id} to delete"
        require(context, image, actor, "delete_image", missing)
        return image.delete(now, delayed=deletion.delayed, scrub_time=deletion.scrub_time)

    doomed = await context.images.change(command.image_id, metadata, decide)
    # The deletion is committed; the bytes it gives up go now (none of the data a delayed
    # delete keeps), unless another image holds them too. The event lists them, so data that
    # could not be removed here can still be found and reclaimed from the log.
    for location in doomed:
        try:
            await release_data(context, command.image_id, location)
        except CatalogError as e:
            log.warning("image_data_delete_failed", image_id=str(command.image_id), error=str(e))
