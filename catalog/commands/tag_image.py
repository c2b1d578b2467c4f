"""Put a tag on an image, or take one off: PUT / DELETE /v2/images/{id}/tags/{tag}."""

from __future__ import annotations

import uuid

from catalog.commands.access import require
from catalog.commands.base import Command
from catalog.commands.context import CommandContext
from catalog.events import EventMetadata
from catalog.image import Image


class AddImageTag(Command):
    image_id: uuid.UUID
    tag: str


class RemoveImageTag(Command):
    image_id: uuid.UUID
    tag: str


async def add_image_tag(
    command: AddImageTag, context: CommandContext, metadata: EventMetadata
) -> None:
    def decide(image: Image) -> None:
        require(context, image, metadata.actor, "modify_image")
        image.add_tag(command.tag, context.limits.image_tag_quota, context.clock.now())

    await context.images.change(command.image_id, metadata, decide)


async def remove_image_tag(
    command: RemoveImageTag, context: CommandContext, metadata: EventMetadata
) -> None:
    def decide(image: Image) -> None:
        require(context, image, metadata.actor, "modify_image")
        image.remove_tag(command.tag, context.clock.now())

    await context.images.change(command.image_id, metadata, decide)
