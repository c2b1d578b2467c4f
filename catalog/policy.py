"""Who may do what: Glance's default policy rules, in one place.

An image the caller may not see is reported as missing (404), never as forbidden; rules about
what a caller may do with an image it can see answer 403.
"""

from __future__ import annotations

from catalog.errors import Forbidden
from catalog.identity import Actor

PUBLIC_VISIBILITIES = frozenset({"public", "community"})


def not_authorized(action: str) -> Forbidden:
    return Forbidden(f"You are not authorized to complete {action} action.")


def is_owner(actor: Actor, owner: str | None) -> bool:
    return actor.project_id is not None and actor.project_id == owner


def can_see(actor: Actor, *, owner: str | None, visibility: str, is_member: bool = False) -> bool:
    """Whether the image exists for this caller at all (get_image)."""
    if actor.is_admin or owner is None or visibility in PUBLIC_VISIBILITIES:
        return True
    if is_owner(actor, owner):
        return True
    return visibility == "shared" and is_member


def enforce_add_image(actor: Actor, owner: str | None, visibility: str) -> None:
    """add_image: admin, or a member creating an image owned by their own project."""
    if not actor.is_admin:
        if not actor.has_role("member") or actor.project_id is None:
            raise not_authorized("add_image")
        if owner is not None and owner != actor.project_id:
            raise Forbidden(f"You are not permitted to create images owned by '{owner}'.")
    enforce_visibility(actor, owner, visibility)


def enforce_visibility(actor: Actor, owner: str | None, visibility: str) -> None:
    if visibility == "public" and not actor.is_admin:
        raise not_authorized("publicize_image")
    if visibility == "community" and not (
        actor.is_admin or (actor.has_role("member") and is_owner(actor, owner))
    ):
        raise not_authorized("communitize_image")


def enforce_owner_action(actor: Actor, owner: str | None, action: str) -> None:
    """modify_image, upload_image, delete_image, ...: admin, or a member of the owning project."""
    if actor.is_admin:
        return
    if not (actor.has_role("member") and is_owner(actor, owner)):
        raise not_authorized(action)


# Keystone's default roles imply one another (admin > member > reader), so where Glance's rule
# names `reader`, a member passes too. Service users are given `service`, which implies neither.
READER_ROLES = frozenset({"reader", "member"})
MEMBER_ROLES = frozenset({"member"})
SERVICE_ROLES = frozenset({"service"})
READ_RULES: dict[str, frozenset[str]] = {
    "get_images": READER_ROLES,
    "get_image": READER_ROLES,
    "get_image_history": READER_ROLES,
    "get_members": READER_ROLES,
    "get_member": READER_ROLES,
    "download_image": MEMBER_ROLES,
    "fetch_image_location": SERVICE_ROLES,
    "stores_info_detail": SERVICE_ROLES,
}
"""The roles each read needs: the part of Glance's rule that depends on the caller alone."""


def may_read_data(
    actor: Actor, *, owner: str | None, visibility: str, is_member: bool, deactivated: bool
) -> bool:
    """download_image as a yes or no, visibility included: an image the caller can see, as
    admin or as a member acting for a project, and not deactivated unless admin. Attaching
    another image's location needs it too (not Glance's rule): it would hand the caller that
    image's bytes."""
    if not can_see(actor, owner=owner, visibility=visibility, is_member=is_member):
        return False
    if actor.is_admin:
        return True
    allowed = actor.project_id is not None and READ_RULES["download_image"] & set(actor.roles)
    return bool(allowed) and not deactivated


def enforce_read(actor: Actor, action: str) -> None:
    """The rule every read goes through, before anything is looked up: an admin, or a caller
    acting for a project (Glance accepts only project-scoped callers) with a role `action`
    needs. What depends on the image (may the caller see it?) is decided after, as a 404."""
    if actor.is_admin:
        return
    if actor.project_id is None or not READ_RULES[action] & set(actor.roles):
        raise not_authorized(action)


def enforce_modify_member(actor: Actor, member: str) -> None:
    """modify_member: admin, or the member project itself (the owner cannot accept for it)."""
    if not (actor.is_admin or (actor.has_role("member") and actor.project_id == member)):
        raise not_authorized("modify_member")


def may_list_members(actor: Actor, owner: str | None) -> bool:
    """get_members: admin or the owner see every member; a member sees only itself."""
    return actor.is_admin or is_owner(actor, owner)


def may_audit(actor: Actor, owner: str | None) -> bool:
    """An image's history, and its past states once it is deleted: admin, or its owner (not
    Glance's: the catalog's own audit reads)."""
    return actor.is_admin or is_owner(actor, owner)
