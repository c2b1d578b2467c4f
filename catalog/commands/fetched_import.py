"""An import whose bytes are fetched from an http(s) URL, in the background: web-download, and
glance-download (which fetches them from another region's image service).

The import's task takes the image's import lock before the request is answered, as every
import's (`import_lock.py`): a second import meanwhile is a 409. Then, in the background, the
method finds where its bytes are (`Fetch`), and they are staged into the first store asked as
a staging is (PUT …/stage): inspected, hashed and counted against the owner's quota as they
stream, in one pass. The lock then brings the staged bytes, imported as glance-direct's are
(`import_image.staged_import`): the image is `importing` until they are written into every
store asked, then `active`. Any failure leaves the task failed with why and the image
`queued` without a byte: a fetch that fails removes what it had staged (`upload_image_data`),
an import that fails removes what it wrote (`import_lock`).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

from catalog.commands.access import require
from catalog.commands.context import CommandContext
from catalog.commands.import_image import ImportImage, import_task, staged_import
from catalog.commands.import_lock import locked_import, take_import_lock
from catalog.commands.run_as_task import Failed, Outcome, Succeeded, Work, start_as_task
from catalog.commands.upload_image_data import UploadImageData, upload_image_data
from catalog.errors import CatalogError, Conflict, DatabaseUnavailable
from catalog.events import EventMetadata
from catalog.image import ImageStatus
from catalog.task import Task

RULE = "modify_image"


@dataclass(frozen=True)
class Fetched:
    """Where a fetching import's bytes come from, found once its task runs."""

    chunks: AsyncIterator[bytes]
    size: int | None = None
    """The size the bytes must have, when their source tells it."""


Fetch = Callable[[], Awaitable[Fetched]]
StagedCheck = Callable[[], Awaitable[Failed | None]]
"""Run once the bytes are staged: a failure (the staged bytes removed) stops the import."""
AfterFailure = Callable[[], Awaitable[None]]
"""Run once an import that failed has released its image (queued again, without a byte)."""


async def require_importable(
    context: CommandContext, metadata: EventMetadata, image_id: uuid.UUID, method: str
) -> None:
    """The caller may import the image's data (else 403/404), and Glance's preconditions for
    an import that fetches it hold (409s; an import under way first)."""
    image = await context.images.load(image_id)
    require(context, image, metadata.actor, RULE)
    image.require_no_import()
    if image.status is not ImageStatus.QUEUED:
        raise Conflict(f"Image needs to be in 'queued' state to use '{method}' method")
    if image.container_format is None:
        raise Conflict("'container_format' needs to be set before import")
    if image.disk_format is None:
        raise Conflict("'disk_format' needs to be set before import")


async def start_fetched_import(
    context: CommandContext,
    metadata: EventMetadata,
    command: ImportImage,
    targets: list[str],
    fetch: Fetch,
    *,
    token: str | None,
    check_staged: StagedCheck | None = None,
    after_failure: AfterFailure | None = None,
) -> None:
    """Start `command`'s import of the bytes `fetch` finds into `targets` (see above).
    `token`: the caller's, for a key manager that keeps signed images' certificates."""

    async def begin(task: Task) -> Work:
        async def fetch_then_import() -> Outcome:
            fetched = await fetch()
            staging = UploadImageData(
                image_id=command.image_id,
                chunks=_told_as_the_sources(fetched.chunks),
                store=targets[0],
                expected_size=fetched.size,
                staging=True,
                token=token,
            )
            await upload_image_data(staging, context, metadata)
            wrong = None if check_staged is None else await check_staged()
            if wrong is not None:
                return wrong
            # The lock, held since the request, now brings the staged bytes (`importing`).
            image_id = command.image_id
            await take_import_lock(
                context, metadata, image_id, task.id, targets, rule=RULE, brings_data=True
            )
            return await staged_import(context, metadata, command, targets)()

        locked = locked_import(
            context, metadata, command.image_id, targets, fetch_then_import, rule=RULE
        )
        work = await locked(task)
        return work if after_failure is None else _then_on_failure(work, after_failure)

    new = import_task(command.image_id, command.request_shown, targets)
    await start_as_task(context, metadata, new, begin)


async def _told_as_the_sources(chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """The fetched bytes. Their server's failure (an error, bytes cut short, a stall) is told
    in the task's message as the source's, not as a store's."""
    try:
        async for chunk in chunks:
            yield chunk
    except CatalogError as e:
        e.detail = e.detail or f"Fetching the data failed: {e.__cause__ or e.message}"
        raise


def _then_on_failure(work: Work, after_failure: AfterFailure) -> Work:
    async def then() -> Outcome:
        succeeded = False
        try:
            outcome = await work()
            succeeded = isinstance(outcome, Succeeded)
            return outcome
        finally:
            if not succeeded:
                with contextlib.suppress(DatabaseUnavailable):  # the work's error goes on
                    await asyncio.shield(after_failure())

    return then
