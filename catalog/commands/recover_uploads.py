"""Fail the uploads of processes that died: their images go back to `queued`, bytes removed.

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
from catalog.events import EventMetadata
from catalog.image import Image

log = structlog.get_logger(__name__)

ABANDONED = "The upload was abandoned: the process streaming it stopped."


class RecoverAbandonedUploads(Command):
    candidates: Sequence[uuid.UUID]
    """Images the views show as saving or uploading (bytes may be streaming in)."""
    live_nodes: frozenset[str]
    """Processes whose heartbeat is current."""


async def recover_abandoned_uploads(
    command: RecoverAbandonedUploads, context: CommandContext, metadata: EventMetadata
) -> list[uuid.UUID]:
    recovered = []
    for image_id in command.candidates:
        image = await context.images.load(image_id)
        if not image.upload_abandoned(command.live_nodes) or image.upload_location is None:
            continue
        _, store = context.stores.for_location(image.upload_location)
        await store.delete(image.upload_location)

        def fail(current: Image) -> bool:
            if not current.upload_abandoned(command.live_nodes):
                return False
            current.fail_upload(ABANDONED, context.clock.now())
            return True

        if await context.images.change(image_id, metadata, fail):
            log.warning("upload_recovered", image_id=str(image_id), node_id=image.upload_node)
            recovered.append(image_id)
    return recovered
