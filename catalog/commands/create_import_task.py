"""The tasks API's import: POST /v2/tasks with type `import` (Glance's legacy import task).

A new image is created with the task's `image_properties`, its data fetched from `import_from`
(an http(s) URL, checked like every URL the catalog fetches for a caller) and uploaded into the
default store as any upload is: hashed, its format inspected, activated. The task's result
names the image. If the data cannot be had, the task fails and the image goes, as Glance's
revert removes it.

The URL is checked before the task exists (its scheme, its form, the addresses its host
resolves to): a URL that may not be fetched is a 400, as in Glance. The request is answered
once the task has ended (Glance answers at once, with the task `pending`).
"""

from __future__ import annotations

from typing import Any

import structlog

from catalog.commands.base import Command
from catalog.commands.context import CommandContext
from catalog.commands.create_image import CreateImage, create_image
from catalog.commands.delete_image import DeleteImage, delete_image
from catalog.commands.fetched_urls import fetchable
from catalog.commands.run_as_task import (
    NewTask,
    Outcome,
    failure_of,
    image_result,
    run_as_task,
)
from catalog.commands.upload_image_data import UploadImageData, upload_image_data
from catalog.errors import CatalogError, DatabaseUnavailable
from catalog.events import EventMetadata
from catalog.ports import RemoteData
from catalog.task import Task, TaskType

log = structlog.get_logger(__name__)


class CreateImportTask(Command):
    import_from: str
    image: CreateImage
    """The image to create, from the task's `image_properties`."""
    input: dict[str, Any]
    """The task's input as the caller gave it (the task shows it)."""


async def create_import_task(
    command: CreateImportTask, context: CommandContext, metadata: EventMetadata
) -> Task:
    url = command.import_from
    remote = await fetchable(context, url, "URI for legacy import task does not pass filtering")

    async def work() -> Outcome:
        return await _import(context, metadata, command.image, remote, url)

    return await run_as_task(context, metadata, NewTask(TaskType.IMPORT, command.input), work)


async def _import(
    context: CommandContext,
    metadata: EventMetadata,
    image: CreateImage,
    remote: RemoteData,
    url: str,
) -> Outcome:
    try:
        created = await create_image(image, context, metadata)
    except DatabaseUnavailable:
        raise
    except CatalogError as e:
        return failure_of(e)
    image_id = created.image_id
    try:
        upload = UploadImageData(image_id=image_id, chunks=remote.get(url))
        await upload_image_data(upload, context, metadata)
    except DatabaseUnavailable:
        raise
    except CatalogError as e:
        try:
            await delete_image(DeleteImage(image_id=image_id), context, metadata)
        except CatalogError:
            log.exception("import_task_image_kept", image_id=str(image_id))
        return failure_of(e)
    uploaded = await context.images.load(image_id)
    return image_result(image_id, uploaded.size)
