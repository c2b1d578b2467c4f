"""Deactivate or reactivate an image: POST /v2/images/{id}/actions/deactivate|reactivate."""

from __future__ import annotations

import uuid

from catalog.commands.access import require
from catalog.commands.base import Command
from catalog.commands.context import CommandContext
from catalog.events import EventMetadata
from catalog.image import Image


class DeactivateImage(Command):
    image_id: uuid.UUID


class ReactivateImage(Command):
    image_id: uuid.UUID


async def deactivate_image(
    command: DeactivateImage, context: CommandContext, metadata: EventMetadata
) -> None:
    def decide(image: Image) -> None:
        require(context, image, metadata.actor, "deactivate")
        image.deactivate(context.clock.now())

    await context.images.change(command.image_id, metadata, decide)


async def reactivate_image(
    command: ReactivateImage, context: CommandContext, metadata: EventMetadata
) -> None:
    def decide(image: Image) -> None:
        require(context, image, metadata.actor, "reactivate")
        image.reactivate(context.clock.now())

    await context.images.change(command.image_id, metadata, decide)
