"""Import an image's data: POST /v2/images/{id}/import.

`glance-direct` is served here (`copy-image` in `copy_image.py`): the bytes were staged
(PUT …/stage) into the store they will live in and hashed on the way, so the import records
them as the image's data at once (uploading → active) and the 202 answer comes after it is
done. The bytes were inspected while staged; if they are not what the image's disk format
claims, the import fails with 415 and the image returns to `queued` without them.

The import runs as an `api_image_import` task (Glance's), once the caller's rights and the
image's state allow it: its outcome is there to read at `GET /v2/images/{id}/tasks`.
"""

from __future__ import annotations

import uuid
from typing import Any

from catalog.commands.access import require
from catalog.commands.base import Command
from catalog.commands.context import CommandContext
from catalog.commands.run_as_task import NewTask, Outcome, image_result, run_as_task
from catalog.commands.shared_data import release_data
from catalog.commands.signed_data import signature_failure
from catalog.disk_formats import DiskFormatRejected
from catalog.errors import CatalogError
from catalog.events import EventMetadata
from catalog.image import Image
from catalog.signatures import SignatureRefused
from catalog.task import TaskType

IMPORT_METHODS = ("glance-direct", "copy-image")
"""The import methods this catalog serves, as `/v2/info/import` and the 201 header list them."""


class ImportImage(Command):
    image_id: uuid.UUID
    method: str


def import_task(image_id: uuid.UUID, request: dict[str, Any], stores: list[str]) -> NewTask:
    """An import's task, with Glance's input: the image, the import request, its stores."""
    task_input = {"image_id": str(image_id), "import_req": request, "backend": stores}
    return NewTask(TaskType.API_IMAGE_IMPORT, task_input, image_id)


async def import_image(
    command: ImportImage, context: CommandContext, metadata: EventMetadata
) -> None:
    image = await context.images.load(command.image_id)
    require(context, image, metadata.actor, "modify_image")
    image.require_staged()
    staged_in = [image.upload_store] if image.upload_store else []
    size = image.size

    def decide(image: Image) -> tuple[CatalogError, str] | None:
        require(context, image, metadata.actor, "modify_image")
        now = context.clock.now()
        try:
            image.import_staged(now)
        except DiskFormatRejected as rejected:
            # The staged bytes are not what the image claims: they go, the image is queued.
            return rejected, image.reject_staged(rejected.detail, now)
        except SignatureRefused as why:
            unverified = signature_failure(command.image_id, why)
            return unverified, image.reject_staged(unverified.message, now)
        return None

    async def work() -> Outcome:
        outcome = await context.images.change(command.image_id, metadata, decide)
        if outcome is not None:
            rejected, doomed = outcome
            await release_data(context, command.image_id, doomed)
            raise rejected
        return image_result(command.image_id, size)

    request = {"method": {"name": command.method}}
    await run_as_task(context, metadata, import_task(command.image_id, request, staged_in), work)
