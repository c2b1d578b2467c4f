"""The access rules every command applies to the image it acts on."""

from __future__ import annotations

from catalog import policy
from catalog.errors import NotFound
from catalog.identity import Actor
from catalog.image import Image


def require_visible(image: Image, actor: Actor, missing: str | None = None) -> None:
    """An image the caller may not see does not exist for them: 404, never 403."""
    if image.gone or not policy.can_see(
        actor,
        owner=image.owner,
        visibility=image.visibility,
        is_member=image.is_member(actor.project_id),
    ):
        raise NotFound(missing or f"No image found with ID {image.id}")


def require_owner_action(
    image: Image, actor: Actor, action: str, missing: str | None = None
) -> None:
    """Visible (else 404), and the caller may do `action` to it (else 403)."""
    require_visible(image, actor, missing)
    policy.enforce_owner_action(actor, image.owner, action)
