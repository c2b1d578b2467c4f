"""The background part of every import: an image's data written into the stores asked.

An import method supplies its bytes as a `DataSource` (glance-direct: the staged bytes;
copy-image: the image's current data); `write_to_stores` streams them into each store in turn.
Each store's copy is recorded before its first byte (`image.copy_started`, with the process
doing it, so recovery can remove the bytes of a process that died), hashed on the way and
checked against the source's size and digests, then recorded (`image.copied`: the image's data
is in one more store, and the store leaves `os_glance_importing_to_stores`). A failed copy
removes its bytes and is recorded (`image.copy_failed`: the store is listed in
`os_glance_failed_import`). Bytes already where a store keeps the image (staged into it) are
recorded without being moved.

What the written stores mean for the image (it becomes active, or stays as it was) is the
import method's: see `import_image.py` and `copy_image.py`.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import structlog

from catalog.commands.context import CommandContext
from catalog.commands.shared_data import release_data
from catalog.errors import CatalogError, Conflict, DatabaseUnavailable
from catalog.events import EventMetadata
from catalog.image import Image

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class DataSource:
    """Where an import reads its bytes, and what they must be."""

    store: str
    location: str
    size: int
    checksum: str
    os_hash_value: str

    def read(self, context: CommandContext) -> AsyncIterator[bytes]:
        return context.stores.named(self.store).get(self.location)

    def already_at(self, store: str, location: str) -> bool:
        """Whether these very bytes are where `store` keeps the image (no copy needed)."""
        return (store, location) == (self.store, self.location)


def stores_asked(context: CommandContext, stores: tuple[str, ...] | None) -> list[str]:
    """The stores an import writes: those named (each once, in order; an unknown one is a
    409 as on Glance, one that cannot take data refused), or every one that can (None)."""
    if stores is None:
        return list(context.stores.writable_names)
    asked = list(dict.fromkeys(stores))
    for name in asked:
        if name not in context.stores.names:
            raise Conflict(f"Store for identifier {name} not found")
        context.stores.writable(name)
    return asked


async def write_to_stores(
    context: CommandContext,
    metadata: EventMetadata,
    image_id: uuid.UUID,
    source: DataSource,
    stores: list[str],
    *,
    all_must_succeed: bool,
) -> list[str]:
    """The stores the data was written into, in order. A store that fails stops the writing
    with its error if `all_must_succeed`; else the others are still written."""
    written = []
    for name in stores:
        try:
            with context.streaming_here.working_on(image_id):
                await _write_into(context, metadata, image_id, source, name)
        except DatabaseUnavailable:
            raise  # not this store's failure: no copy can be recorded now
        except CatalogError as e:
            if all_must_succeed:
                raise
            log.warning("copy_failed", image_id=str(image_id), store=name, error=e.message)
        else:
            written.append(name)
    return written


async def _write_into(
    context: CommandContext,
    metadata: EventMetadata,
    image_id: uuid.UUID,
    source: DataSource,
    store_name: str,
) -> None:
    target = context.stores.writable(store_name)
    location = target.location_for(str(image_id))
    in_place = source.already_at(store_name, location)

    def start(image: Image) -> None:
        now = context.clock.now()
        image.start_copy(store_name, location, context.node_id, now)
        if in_place:
            image.complete_copy(store_name, now)

    await context.images.change(image_id, metadata, start)
    if in_place:
        return
    try:
        stored = await target.add(str(image_id), source.read(context))
        if (stored.size, stored.checksum, stored.os_hash_value) != (
            source.size,
            source.checksum,
            source.os_hash_value,
        ):
            raise Conflict(
                f"The data read from store {source.store} does not match the image's checksum."
            )
    except BaseException as e:
        # Shielded: work that is cancelled must not leave the copy half-recorded.
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
