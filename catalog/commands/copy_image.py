"""Copy an active image's data into more stores: the `copy-image` import method.

The image's current data is the source of the import pipeline (`import_pipeline.py`), which
writes it into each store asked; the image stays active throughout.

The copies run as one `api_image_import` task, once the caller's rights, the image's status and
the stores asked for allow them (else a 4xx, and no task). The request is answered (202) once
the task holds the image's import lock and the stores are listed as importing
(`image.import_started`); the copies then run in the background, each store leaving the list
when copied or moving to the failed ones, and the lock goes when the task ends.
"""

from __future__ import annotations

from catalog.commands.access import require
from catalog.commands.context import CommandContext
from catalog.commands.import_image import ImportImage, import_task
from catalog.commands.import_lock import locked_import
from catalog.commands.import_pipeline import DataSource, stores_asked, write_to_stores
from catalog.commands.run_as_task import Outcome, image_result, start_as_task
from catalog.errors import BadRequest, Conflict
from catalog.events import EventMetadata
from catalog.image import ImageStatus


class CopyImage(ImportImage):
    """`stores` None: every store that can take data and lacks it."""


async def copy_image(command: CopyImage, context: CommandContext, metadata: EventMetadata) -> None:
    image = await context.images.load(command.image_id)
    require(context, image, metadata.actor, "copy_image")
    if image.status is not ImageStatus.ACTIVE:
        raise Conflict("Only images with status active can be targeted for copying")
    image.require_no_import()  # taken before the task, as Glance: a refusal leaves none
    held = {location.store for location in image.locations}
    targets = [name for name in stores_asked(context, command.stores) if name not in held]
    if command.stores is not None:
        for name in command.stores:
            if name in held:
                raise BadRequest(f"Image is already present at store '{name}'")

    async def copy_all() -> Outcome:
        current = await context.images.load(command.image_id)
        data = current.data
        if current.gone or data is None or not current.locations:
            raise Conflict("Only images with status active can be targeted for copying")
        if data.checksum is None or data.os_hash_value is None:
            # Migrated from a Glance older than its secure hash: nothing to verify a copy by.
            raise Conflict(f"Image {command.image_id} has no recorded hash to verify a copy by")
        first = current.locations[0]
        source = DataSource(first.store, first.url, data.size, data.checksum, data.os_hash_value)
        await write_to_stores(
            context,
            metadata,
            command.image_id,
            source,
            targets,
            all_must_succeed=command.all_stores_must_succeed,
        )
        return image_result(command.image_id, image.size)

    new = import_task(command.image_id, command.request, targets)
    begin = locked_import(context, metadata, command.image_id, targets, copy_all, rule="copy_image")
    await start_as_task(context, metadata, new, begin)
