"""How commands ask the policy about the image they act on."""

from __future__ import annotations

from catalog.commands.context import CommandContext
from catalog.errors import NotFound
from catalog.identity import Actor
from catalog.image import Image
from catalog.policy import ImageAccess


def image_access(
    context: CommandContext, image: Image, actor: Actor, missing: str | None = None
) -> ImageAccess:
    """What `actor` may do with `image`; an image that does not exist for them (never created,
    deleted, or not visible to them) is 404, never 403."""
    missing = missing or f"No image found with ID {image.id}"
    if image.gone:
        raise NotFound(missing)
    is_member = image.is_member(actor.project_id)
    return context.policy.image(actor, image, is_member=is_member, missing=missing)


def require(
    context: CommandContext, image: Image, actor: Actor, rule: str, missing: str | None = None
) -> ImageAccess:
    """The caller may do `rule` to the image: else 403, or 404 if they may not even get it."""
    access = image_access(context, image, actor, missing)
    access.enforce(rule)
    return access
