"""Share an image with other projects: POST, PUT, DELETE /v2/images/{id}/members[/{member}].

The owner adds and removes members; only the member itself accepts, rejects or resets its
membership (or an admin).
"""

from __future__ import annotations

import uuid
from typing import Literal

from catalog import policy
from catalog.commands.access import require_owner_action, require_visible
from catalog.commands.base import Command
from catalog.commands.context import CommandContext
from catalog.events import EventMetadata
from catalog.image import Image

MemberStatus = Literal["pending", "accepted", "rejected"]


def _missing(image_id: uuid.UUID) -> str:
    return f"Image {image_id} not found."


class AddImageMember(Command):
    image_id: uuid.UUID
    member: str


class UpdateImageMember(Command):
    image_id: uuid.UUID
    member: str
    status: MemberStatus


class RemoveImageMember(Command):
    image_id: uuid.UUID
    member: str


async def add_image_member(
    command: AddImageMember, context: CommandContext, metadata: EventMetadata
) -> None:
    def decide(image: Image) -> None:
        require_owner_action(image, metadata.actor, "add_member", _missing(command.image_id))
        image.add_member(command.member, context.limits.image_member_quota, context.clock.now())

    await context.images.change(command.image_id, metadata, decide)


async def update_image_member(
    command: UpdateImageMember, context: CommandContext, metadata: EventMetadata
) -> None:
    actor = metadata.actor

    def decide(image: Image) -> None:
        require_visible(image, actor, _missing(command.image_id))
        if not (
            actor.is_admin or (actor.has_role("member") and actor.project_id == command.member)
        ):
            raise policy.not_authorized("modify_member")
        image.change_member_status(command.member, command.status, context.clock.now())

    await context.images.change(command.image_id, metadata, decide)


async def remove_image_member(
    command: RemoveImageMember, context: CommandContext, metadata: EventMetadata
) -> None:
    def decide(image: Image) -> None:
        require_owner_action(image, metadata.actor, "delete_member", _missing(command.image_id))
        image.remove_member(command.member, context.clock.now())

    await context.images.change(command.image_id, metadata, decide)
