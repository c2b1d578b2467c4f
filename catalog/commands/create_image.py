"""Create an image record (no data yet): POST /v2/images."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from pydantic import Field

from catalog.commands.base import Command
from catalog.commands.context import CommandContext
from catalog.errors import ConcurrencyConflict, Conflict
from catalog.events import EventMetadata, ImageCreated, RecordedEvent
from catalog.image import Image
from catalog.image_patch import check_property_quota, check_tag_quota
from catalog.quotas import QuotaClaim


class CreateImage(Command):
    image_id: uuid.UUID | None = None
    name: str | None = None
    disk_format: str | None = None
    container_format: str | None = None
    visibility: str = "shared"
    protected: bool = False
    os_hidden: bool = False
    min_ram: int = 0
    min_disk: int = 0
    owner: str | None = None
    tags: tuple[str, ...] = ()
    properties: dict[str, str] = Field(default_factory=dict)


@dataclass(frozen=True)
class CreatedImage:
    """What a create recorded: enough to answer with the new image without reading it back."""

    recorded: RecordedEvent
    event: ImageCreated

    @property
    def image_id(self) -> uuid.UUID:
        return self.recorded.stream_id


async def create_image(
    command: CreateImage, context: CommandContext, metadata: EventMetadata
) -> CreatedImage:
    actor = metadata.actor
    owner = command.owner if command.owner is not None else actor.project_id
    context.policy.enforce_add_image(actor, owner=owner, visibility=command.visibility)
    properties = context.policy.property_access(actor)
    for name in command.properties:
        properties.require(name, "create")
    tags = tuple(dict.fromkeys(command.tags))
    check_tag_quota(len(tags), context.limits.image_tag_quota)
    check_property_quota(len(command.properties), context.limits.image_property_quota)
    image_id = command.image_id or uuid.uuid4()
    created = ImageCreated(
        name=command.name,
        disk_format=command.disk_format,
        container_format=command.container_format,
        visibility=command.visibility,
        protected=command.protected,
        os_hidden=command.os_hidden,
        min_ram=command.min_ram,
        min_disk=command.min_disk,
        owner=owner,
        tags=tags,
        properties=command.properties,
    )
    image = Image.create(image_id, created, context.clock.now())
    try:
        # Expected version 0: an id that ever existed, deleted or not, is never reused.
        claim = QuotaClaim(project=owner, images=1) if owner is not None else None
        (recorded,) = await context.images.save(image, metadata, claim)
    except ConcurrencyConflict as e:
        raise Conflict(f"Image ID {image_id} already exists!") from e
    return CreatedImage(recorded, created)
