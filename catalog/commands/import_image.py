"""Import an image's data: POST /v2/images/{id}/import, the import methods that bring an image
its data (`glance-direct`; `web-download`, which stages a URL's bytes first, is in
`web_download.py`, and `copy-image`, which copies an active image's, in `copy_image.py`).

As on Glance, the request is answered (202) once the import has begun: its task holds the
image's import lock, the image is `importing` and the stores asked are listed in
`os_glance_importing_to_stores` (`import_lock.py`). The bytes were inspected while staged; if
they are not what the image's disk format claims, the import fails at once with 415 and the
image returns to `queued` without them.

In the background, the import plugins operators enabled run first (`import_plugins/`: they
may convert the bytes, or set properties), then the import pipeline (`import_pipeline.py`)
writes the bytes into each store asked: those staged into a store asked stay where they are
(or are replaced there by the converted ones). Then the image becomes active with its data in
the stores written (`image.imported`) and bytes staged elsewhere go; or, when a plugin
refused the bytes, a store failed and all had to succeed, or none was written, the import
fails: the copies it made, the converted and the staged bytes go, and the image returns to
`queued` (as when its process dies: `import_lock.py`). Either way the task tells the outcome,
at `GET /v2/images/{id}/tasks`.

An import method is one entry of `SOURCES`: where its bytes come from.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from contextlib import AsyncExitStack
from typing import Any

from pydantic import Field

from catalog.commands.access import require
from catalog.commands.base import Command
from catalog.commands.context import CommandContext
from catalog.commands.import_lock import locked_import
from catalog.commands.import_pipeline import DataSource, stores_asked, write_to_stores
from catalog.commands.import_plugins import ImportRun, run_plugins
from catalog.commands.run_as_task import (
    Failed,
    NewTask,
    Outcome,
    Work,
    image_result,
    start_as_task,
)
from catalog.commands.shared_data import release_data
from catalog.events import EventMetadata
from catalog.image import Image
from catalog.task import TaskType


def staged_bytes(image: Image) -> DataSource:
    """glance-direct: the bytes staged (PUT …/stage), hashed while they were."""
    image.require_staged()
    return staged_source(image)


def staged_source(image: Image) -> DataSource:
    """The image's staged bytes, as an import's source."""
    staged = image.staged
    assert staged is not None
    assert image.upload_store is not None
    assert image.upload_location is not None
    return DataSource(
        image.upload_store,
        image.upload_location,
        staged.size,
        staged.checksum,
        staged.os_hash_value,
    )


SOURCES: dict[str, Callable[[Image], DataSource]] = {"glance-direct": staged_bytes}
"""The import methods that bring an image its data, and where each reads its bytes (checking
the image can be imported so, else a 409)."""

IMPORT_METHODS = ("glance-direct", "web-download", "copy-image")
"""The import methods this catalog serves, as `/v2/info/import` and the 201 header list them."""


class ImportImage(Command):
    image_id: uuid.UUID
    method: str
    stores: tuple[str, ...] | None = None
    """The stores to write; None: every store that can take data."""
    all_stores_must_succeed: bool = True
    """If a store fails: the import fails (True), or goes on with the other stores (False)."""
    request: dict[str, Any] = Field(default_factory=dict)
    """The import request as the client sent it (the task's input shows it, as Glance's)."""

    @property
    def request_shown(self) -> dict[str, Any]:
        return self.request or {"method": {"name": self.method}}


def import_task(image_id: uuid.UUID, request: dict[str, Any], stores: list[str]) -> NewTask:
    """An import's task, with Glance's input: the image, the import request, its stores."""
    task_input = {"image_id": str(image_id), "import_req": request, "backend": stores}
    return NewTask(TaskType.API_IMAGE_IMPORT, task_input, image_id)


async def import_image(
    command: ImportImage, context: CommandContext, metadata: EventMetadata
) -> None:
    image = await context.images.load(command.image_id)
    require(context, image, metadata.actor, "modify_image")
    SOURCES[command.method](image)  # the image can be imported so, else a 409
    image.require_no_import()  # taken before the task, as Glance: a refusal leaves none
    targets = stores_asked(context, command.stores)
    work = staged_import(context, metadata, command, targets)
    begin = locked_import(
        context, metadata, command.image_id, targets, work, rule="modify_image", brings_data=True
    )
    new = import_task(command.image_id, command.request_shown, targets)
    await start_as_task(context, metadata, new, begin)


def staged_import(
    context: CommandContext, metadata: EventMetadata, command: ImportImage, targets: list[str]
) -> Work:
    """The work of an import of the staged bytes, the lock taken (the image `importing`): the
    bytes written into `targets` and the image activated."""

    async def work() -> Outcome:
        source = staged_source(await context.images.load(command.image_id))
        async with AsyncExitStack() as held:
            run = ImportRun(context, metadata, command.image_id, source, held)
            await run_plugins(run)
            written = await write_to_stores(
                context,
                metadata,
                command.image_id,
                run.source,
                targets,
                all_must_succeed=command.all_stores_must_succeed,
            )
            if not written:  # the import lock's release queues the image again
                return Failed("The image could not be imported into any of the stores asked.")

            def activate(image: Image) -> None:
                image.complete_import(context.clock.now(), run.converted)

            await context.images.change(command.image_id, metadata, activate)
        # Staged into a store written, the bytes there are the image's data now.
        if source.store not in written:
            await release_data(context, command.image_id, source.location, source.store)
        return image_result(command.image_id, run.source.size)

    return work
