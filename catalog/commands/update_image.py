"""Change an image's attributes, custom properties and tags: PATCH /v2/images/{id}.

All operations of a request are one decision and at most one event (`image.updated`).
"""

from __future__ import annotations

import uuid

from catalog.commands.access import image_access
from catalog.commands.base import Command
from catalog.commands.context import CommandContext
from catalog.errors import ACCESS_DENIED, Forbidden
from catalog.events import EventMetadata
from catalog.image import Image
from catalog.image_patch import PatchOperation


class UpdateImage(Command):
    image_id: uuid.UUID
    operations: tuple[PatchOperation, ...]


async def update_image(
    command: UpdateImage, context: CommandContext, metadata: EventMetadata
) -> None:
    actor = metadata.actor
    properties = context.policy.property_access(actor)

    def decide(image: Image) -> None:
        access = image_access(context, image, actor)
        for operation in command.operations:
            # Glance's order: who may set this visibility, then who may modify the image. Only
            # `add` and `replace` write base attributes; `move` and `copy` may not name them.
            writes = operation.op in ("add", "replace")
            if operation.name == "visibility" and writes:
                access.enforce_visibility(operation.value)
            access.enforce("modify_image")
            if operation.name == "owner" and writes and not access.is_admin:
                raise Forbidden(ACCESS_DENIED, detail="Owner can't be updated by non admin.")
        image.update(
            list(command.operations),
            tag_quota=context.limits.image_tag_quota,
            property_quota=context.limits.image_property_quota,
            now=context.clock.now(),
            may=properties.allows,
        )

    await context.images.change(command.image_id, metadata, decide)
