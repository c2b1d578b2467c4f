"""Import an image's data: POST /v2/images/{id}/import.

`glance-direct` is served here (`copy-image` in `copy_image.py`): the bytes were staged
(PUT …/stage) into the store they will live in and hashed on the way, so the import records
them as the image's data at once (uploading → active) and the 202 answer comes after it is
done. The bytes were inspected while staged; if they are not what the image's disk format
claims, the import fails with 415 and the image returns to `queued` without them.
"""

from __future__ import annotations

import uuid

from catalog.commands.access import require
from catalog.commands.base import Command
from catalog.commands.context import CommandContext
from catalog.commands.shared_data import release_data
from catalog.disk_formats import DiskFormatRejected
from catalog.events import EventMetadata
from catalog.image import Image

IMPORT_METHODS = ("glance-direct", "copy-image")
"""The import methods this catalog serves, as `/v2/info/import` and the 201 header list them."""


class ImportImage(Command):
    image_id: uuid.UUID
    method: str


async def import_image(
    command: ImportImage, context: CommandContext, metadata: EventMetadata
) -> None:
    def decide(image: Image) -> tuple[DiskFormatRejected, str] | None:
        require(context, image, metadata.actor, "modify_image")
        now = context.clock.now()
        try:
            image.import_staged(now)
        except DiskFormatRejected as rejected:
            # The staged bytes are not what the image claims: they go, the image is queued.
            return rejected, image.reject_staged(rejected.detail, now)
        return None

    outcome = await context.images.change(command.image_id, metadata, decide)
    if outcome is not None:
        rejected, doomed = outcome
        await release_data(context, command.image_id, doomed)
        raise rejected
