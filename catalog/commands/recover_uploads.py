"""Fail the uploads and copies of processes that died: their images go back to `queued` (a copy's
image stays as it is), and the bytes that reached the store are removed.

An upload records the process streaming it (`node_id`) and where its bytes go before the first
byte is written. When that process stops renewing its heartbeat, nothing will ever finish the
upload; recovery removes whatever bytes reached the store, then records `image.upload_failed`.
Removing first makes a crash in between harmless: the next recovery removes nothing and records.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

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
    """Processes whose heartbeat is current."""


async def recover_abandoned_uploads(
    command: RecoverAbandonedUploads, context: CommandContext, metadata: EventMetadata
) -> list[uuid.UUID]:
    recovered = []
    for image_id in command.candidates:
        image = await context.images.load(image_id)
        await _recover_copies(context, metadata, image, command.live_nodes)
        if not image.upload_abandoned(command.live_nodes) or image.upload_location is None:
            continue
        await release_data(context, image_id, image.upload_location)

        def fail(current: Image) -> bool:
            if not current.upload_abandoned(command.live_nodes):
                return False
            current.fail_upload(ABANDONED, context.clock.now())
            return True

        if await context.images.change(image_id, metadata, fail):
            log.warning("upload_recovered", image_id=str(image_id), node_id=image.upload_node)
            recovered.append(image_id)
    return recovered


async def _recover_copies(
    context: CommandContext, metadata: EventMetadata, image: Image, live_nodes: frozenset[str]
) -> None:
    for store_name, copy in image.abandoned_copies(live_nodes).items():
        await release_data(context, image.id, copy.location, store_name)

        def fail(current: Image, store_name: str = store_name) -> None:
            if store_name in current.abandoned_copies(live_nodes):
                current.fail_copy(store_name, ABANDONED_COPY, context.clock.now())

        await context.images.change(image.id, metadata, fail)
        log.warning("copy_recovered", image_id=str(image.id), store=store_name)
