"""Copy an active image's data into more stores: the `copy-image` import method.

Each copy is recorded before its first byte (`image.copy_started`, with the process doing it),
streamed from the image's current data into the target store, hashed on the way and checked
against the image's size, checksum and hash, then recorded (`image.copied`): the image then
has data in one more store. A failed copy removes its bytes and is recorded too; one whose
process died is failed by recovery. The image stays active throughout.

The copies run as one `api_image_import` task, once the caller's rights, the image's status and
the stores asked for allow them (else a 4xx, and no task).
"""

from __future__ import annotations

import asyncio
import uuid

import structlog

from catalog.commands.access import require
from catalog.commands.base import Command
from catalog.commands.context import CommandContext
from catalog.commands.import_image import import_task
from catalog.commands.run_as_task import Outcome, image_result, run_as_task
from catalog.commands.shared_data import release_data
from catalog.errors import BadRequest, CatalogError, Conflict, DatabaseUnavailable
from catalog.events import EventMetadata
from catalog.image import Image, ImageStatus

log = structlog.get_logger(__name__)


class CopyImage(Command):
    image_id: uuid.UUID
    stores: tuple[str, ...] | None = None
    """The stores to copy into; None: every store that can take data and lacks it."""
    all_stores_must_succeed: bool = True
    """If a copy fails: stop with its error (True), or go on with the other stores (False)."""


async def copy_image(command: CopyImage, context: CommandContext, metadata: EventMetadata) -> None:
    image = await context.images.load(command.image_id)
    require(context, image, metadata.actor, "copy_image")
    if image.status is not ImageStatus.ACTIVE:
        raise Conflict("Only images with status active can be targeted for copying")
    held = {location.store for location in image.locations}
    if command.stores is None:
        targets = [name for name in context.stores.writable_names if name not in held]
    else:
        targets = list(dict.fromkeys(command.stores))
        for name in targets:
            if name not in context.stores.names:
                raise Conflict(f"Store for identifier {name} not found")
            context.stores.writable(name)
            if name in held:
                raise BadRequest(f"Image is already present at store '{name}'")

    async def work() -> Outcome:
        for name in targets:
            try:
                with context.streaming_here.working_on(command.image_id):
                    await _copy_into(command.image_id, name, context, metadata)
            except DatabaseUnavailable:
                raise  # not this store's failure: no copy can be recorded now
            except CatalogError as e:
                if command.all_stores_must_succeed:
                    raise
                log.warning(
                    "copy_failed", image_id=str(command.image_id), store=name, error=e.message
                )
        return image_result(command.image_id, image.size)

    request: dict[str, object] = {"method": {"name": "copy-image"}}
    if command.stores is None:
        request["all_stores"] = True
    else:
        request["stores"] = list(command.stores)
    request["all_stores_must_succeed"] = command.all_stores_must_succeed
    await run_as_task(context, metadata, import_task(command.image_id, request, targets), work)


async def _copy_into(
    image_id: uuid.UUID, store_name: str, context: CommandContext, metadata: EventMetadata
) -> None:
    target = context.stores.writable(store_name)
    location = target.location_for(str(image_id))

    def start(image: Image) -> Image:
        image.start_copy(store_name, location, context.node_id, context.clock.now())
        return image

    image = await context.images.change(image_id, metadata, start)
    source = image.locations[0]
    expected = image.data
    assert expected is not None
    try:
        chunks = context.stores.named(source.store).get(source.url)
        stored = await target.add(str(image_id), chunks)
        if (stored.size, stored.checksum, stored.os_hash_value) != (
            expected.size,
            expected.checksum,
            expected.os_hash_value,
        ):
            raise Conflict(
                f"The data read from store {source.store} does not match the image's checksum."
            )
    except BaseException as e:
        # Shielded: a client that went away must not leave the copy half-recorded.
        await asyncio.shield(_abandon(image_id, store_name, location, e, context, metadata))
        raise

    def complete(current: Image) -> None:
        current.complete_copy(store_name, context.clock.now())

    try:
        await context.images.change(image_id, metadata, complete)
    except CatalogError:
        # The image was deleted meanwhile: the copy is no one's.
        await release_data(context, image_id, location, store_name)
        raise


async def _abandon(
    image_id: uuid.UUID,
    store_name: str,
    location: str,
    cause: BaseException,
    context: CommandContext,
    metadata: EventMetadata,
) -> None:
    await release_data(context, image_id, location, store_name)
    reason = cause.message if isinstance(cause, CatalogError) else type(cause).__name__

    def fail(image: Image) -> None:
        # As for an upload: a copy someone else ended (the image deleted, or the copy failed by
        # recovery) answers as its completion would have (410, 409).
        if store_name in image.copies or isinstance(cause, Exception):
            image.fail_copy(store_name, reason, context.clock.now())

    await context.images.change(image_id, metadata, fail)
