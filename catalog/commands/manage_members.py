"""Share an image with other projects: POST, PUT, DELETE /v2/images/{id}/members[/{member}].

The owner adds and removes members; only the member itself accepts, rejects or resets its
membership (or an admin).
"""

from __future__ import annotations

import uuid
from typing import Literal

from catalog.commands.access import image_access, require
from catalog.commands.base import Command
from catalog.commands.context import CommandContext
from catalog.errors import NotFound
from catalog.events import EventMetadata
from catalog.identity import Actor
from catalog.image import Image
from catalog.policy import sees_membership

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
        require(context, image, metadata.actor, "add_member", _missing(command.image_id))
        image.add_member(command.member, context.limits.image_member_quota, context.clock.now())

    await context.images.change(command.image_id, metadata, decide)


async def update_image_member(
    command: UpdateImageMember, context: CommandContext, metadata: EventMetadata
) -> None:
    def decide(image: Image) -> None:
        _require_membership(context, image, metadata.actor, command.member, "modify_member")
        image.change_member_status(command.member, command.status, context.clock.now())

    await context.images.change(command.image_id, metadata, decide)


async def remove_image_member(
    command: RemoveImageMember, context: CommandContext, metadata: EventMetadata
) -> None:
    def decide(image: Image) -> None:
        _require_membership(context, image, metadata.actor, command.member, "delete_member")
        image.remove_member(command.member, context.clock.now())

    await context.images.change(command.image_id, metadata, decide)


def _require_membership(
    context: CommandContext, image: Image, actor: Actor, member: str, rule: str
) -> None:
    """As Glance: the caller may read the membership (`get_member`), it exists for them (only
    the owner, the member itself and admins see one), and `rule` lets them change it."""
    access = image_access(context, image, actor, _missing(image.id))
    access.enforce("get_member")
    if member not in image.members or not sees_membership(
        access.viewer, owner=image.owner, member=member
    ):
        raise NotFound(f"{member} not found in the member list of the image {image.id}.")
    access.enforce(rule)
