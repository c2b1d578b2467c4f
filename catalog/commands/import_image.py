"""Import an image's data: POST /v2/images/{id}/import.

Only `glance-direct` is served: the bytes were staged (PUT …/stage) into the store they will
live in and hashed on the way, so the import records them as the image's data at once
(uploading → active) and the 202 answer comes after it is done.
"""

from __future__ import annotations

import uuid

from catalog.commands.access import require_owner_action
from catalog.commands.base import Command
from catalog.commands.context import CommandContext
from catalog.events import EventMetadata
from catalog.image import Image

IMPORT_METHODS = ("glance-direct",)
"""The import methods this catalog serves, as `/v2/info/import` and the 201 header list them."""


class ImportImage(Command):
    image_id: uuid.UUID
    method: str


async def import_image(
    command: ImportImage, context: CommandContext, metadata: EventMetadata
) -> None:
    def decide(image: Image) -> None:
        require_owner_action(image, metadata.actor, "modify_image")
        image.import_staged(context.clock.now())

    await context.images.change(command.image_id, metadata, decide)
