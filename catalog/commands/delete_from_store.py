"""Remove one store's copy of an image's data: DELETE /v2/stores/{store}/{image}.

The image stays active with its other copies; the last copy cannot go this way (delete the
image instead). The event is recorded first and the bytes removed after (unless another image
holds them too), so a crash in between leaves unreferenced bytes that the event still names,
never an image pointing at nothing.
"""

from __future__ import annotations

import uuid

import structlog

from catalog.commands.access import image_access
from catalog.commands.base import Command
from catalog.commands.context import CommandContext
from catalog.commands.shared_data import release_data
from catalog.errors import CatalogError, Conflict
from catalog.events import EventMetadata
from catalog.image import DataLocation, Image

log = structlog.get_logger(__name__)


class DeleteFromStore(Command):
    image_id: uuid.UUID
    store: str


async def delete_from_store(
    command: DeleteFromStore, context: CommandContext, metadata: EventMetadata
) -> None:
    actor = metadata.actor
    if command.store not in context.stores.names:
        raise Conflict(f"The selected store {command.store} is not available on this node.")

    def decide(image: Image) -> DataLocation:
        access = image_access(context, image, actor, f"Failed to find image {command.image_id}")
        access.enforce("get_image_location")
        access.enforce("delete_image_location")
        return image.remove_location(command.store, context.clock.now())

    removed = await context.images.change(command.image_id, metadata, decide)
    try:
        await release_data(context, command.image_id, removed.url, removed.store)
    except CatalogError as e:
        log.warning("image_data_delete_failed", image_id=str(command.image_id), error=str(e))
