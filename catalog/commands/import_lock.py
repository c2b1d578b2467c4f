"""An import's hold on its image, as Glance's `os_glance_import_task` lock.

The task takes the lock and lists the stores it will write as importing before its request is
answered (`image.import_started`), so a second import of the image is refused (409) while it
runs and clients can follow it; the lock goes when the task's work ends, whichever way
(`image.import_ended`), or when recovery fails the task of a dead process. An import that was
to bring the image its data and did not fails with it: the image is queued again, and every
byte the import wrote or staged goes.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Awaitable, Callable

from catalog.commands.access import require
from catalog.commands.context import CommandContext
from catalog.commands.run_as_task import INTERNAL_ERROR, Failed, Outcome, Work, failure_of
from catalog.commands.shared_data import release_data
from catalog.commands.signed_data import signature_failure
from catalog.disk_formats import DiskFormatRejected
from catalog.errors import CatalogError, DatabaseUnavailable
from catalog.events import EventMetadata
from catalog.image import DataLocation, Image
from catalog.signatures import SignatureRefused
from catalog.task import Task


def locked_import(
    context: CommandContext,
    metadata: EventMetadata,
    image_id: uuid.UUID,
    stores: list[str],
    work: Work,
    *,
    rule: str,
    brings_data: bool = False,
) -> Callable[[Task], Awaitable[Work]]:
    """What `start_as_task` begins with: the lock taken for `work` (the caller's `rule`
    asked again on the image as it is now), and `work` releasing it when it ends.
    `brings_data`: the import makes the staged bytes the image's data; if they are not what
    the image's disk format claims (DiskFormatRejected), or the image's signature properties
    changed since they were staged and verified, they go and the image is queued."""

    async def begin(task: Task) -> Work:
        await take_import_lock(
            context, metadata, image_id, task.id, stores, rule=rule, brings_data=brings_data
        )

        async def locked() -> Outcome:
            reason = INTERNAL_ERROR
            try:
                outcome = await work()
                if isinstance(outcome, Failed):
                    reason = outcome.message
                return outcome
            except BaseException as e:
                reason = failure_of(e).message
                raise
            finally:
                await asyncio.shield(
                    release_import_lock(context, metadata, image_id, task.id, reason)
                )

        return locked

    return begin


async def take_import_lock(
    context: CommandContext,
    metadata: EventMetadata,
    image_id: uuid.UUID,
    task_id: uuid.UUID,
    stores: list[str],
    *,
    rule: str,
    brings_data: bool,
) -> None:
    """Task `task_id` takes the image's import lock (or, holding it, takes it again to bring
    the data it staged); see `locked_import`."""

    def lock(image: Image) -> tuple[CatalogError, str] | None:
        require(context, image, metadata.actor, rule)
        now = context.clock.now()
        try:
            image.begin_import(str(task_id), tuple(stores), now, brings_data=brings_data)
        except DiskFormatRejected as rejected:
            return rejected, image.reject_staged(rejected.detail, now)
        except SignatureRefused as why:
            unverified = signature_failure(image_id, why)
            return unverified, image.reject_staged(unverified.message, now)
        return None

    refused = await context.images.change(image_id, metadata, lock)
    if refused is not None:
        rejected, doomed = refused
        await release_data(context, image_id, doomed)
        raise rejected


async def release_import_lock(
    context: CommandContext,
    metadata: EventMetadata,
    image_id: uuid.UUID,
    task_id: uuid.UUID,
    reason: str,
) -> None:
    """The lock goes; an image the import was to bring data to and did not is queued again,
    without any byte of it (`Image.end_import`): `reason` says why."""

    def release(image: Image) -> list[DataLocation]:
        return image.end_import(str(task_id), reason, context.clock.now())

    with contextlib.suppress(DatabaseUnavailable):  # recovery releases it with the task
        doomed = await context.images.change(image_id, metadata, release)
        for location in doomed:
            await release_data(context, image_id, location.url, location.store)
