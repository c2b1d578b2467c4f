"""Fail the uploads and copies of processes that died: their images go back to `queued` (a copy's
image stays as it is), and the bytes that reached the store are removed.

An upload records the process streaming it (`node_id`) and where its bytes go before the first
byte is written. When that process stops renewing its heartbeat, nothing will ever finish the
upload; recovery removes whatever bytes reached the store, then records `image.upload_failed`.
Removing first makes a crash in between harmless: the next recovery removes nothing and records.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence

import structlog

from catalog.commands.base import Command
from catalog.commands.context import CommandContext
from catalog.commands.shared_data import release_data
from catalog.events import EventMetadata
from catalog.image import Image

log = structlog.get_logger(__name__)

ABANDONED = "The upload was abandoned: the process streaming it stopped."
ABANDONED_COPY = "The copy was abandoned: the process streaming it stopped."


class RecoverAbandonedUploads(Command):
    candidates: Sequence[uuid.UUID]
    """Images the views show with bytes streaming in (saving, uploading, or copying)."""
    live_nodes: frozenset[str]
    """Processes whose heartbeat is current. This process's own transfers count as alive only
    while it streams them (`CommandContext.streaming_here`): one whose end could not be
    recorded (the database was down) is abandoned as surely as a dead process's."""


async def recover_abandoned_uploads(
    command: RecoverAbandonedUploads, context: CommandContext, metadata: EventMetadata
) -> list[uuid.UUID]:
    recovered = []

    def alive(image_id: uuid.UUID) -> frozenset[str]:
        """The processes whose transfers into the image are alive."""
        return context.streaming_here.alive(image_id, command.live_nodes, context.node_id)

    for image_id in command.candidates:
        image = await context.images.load(image_id)
        await _recover_copies(context, metadata, image, alive)
        if not image.upload_abandoned(alive(image_id)) or image.upload_location is None:
            continue
        await release_data(context, image_id, image.upload_location)

        def fail(current: Image) -> bool:
            if not current.upload_abandoned(alive(current.id)):
                return False
            current.fail_upload(ABANDONED, context.clock.now())
            return True

        if await context.images.change(image_id, metadata, fail):
            log.warning("upload_recovered", image_id=str(image_id), node_id=image.upload_node)
            recovered.append(image_id)
    return recovered


async def _recover_copies(
    context: CommandContext,
    metadata: EventMetadata,
    image: Image,
    alive: Callable[[uuid.UUID], frozenset[str]],
) -> None:
    for store_name, copy in image.abandoned_copies(alive(image.id)).items():
        await release_data(context, image.id, copy.location, store_name)

        def fail(current: Image, store_name: str = store_name) -> None:
            if store_name in current.abandoned_copies(alive(current.id)):
                current.fail_copy(store_name, ABANDONED_COPY, context.clock.now())

        await context.images.change(image.id, metadata, fail)
        log.warning("copy_recovered", image_id=str(image.id), store=store_name)
