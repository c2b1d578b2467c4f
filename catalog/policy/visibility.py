"""Which images exist for a caller at all, before any rule: Glance's database layer.

Glance's database finds an image for admins (the `context_is_admin` rule), for everyone when
it has no owner or is public or community, for its owner's project, and for the projects a
shared image is shared with (whatever their membership's status). Anything else does not
exist for the caller: 404. Listing applies the same rule in SQL
(`catalog/queries/image_list.py`, `visible_to`).
"""

from __future__ import annotations

from dataclasses import dataclass

PUBLIC_VISIBILITIES = frozenset({"public", "community"})


@dataclass(frozen=True)
class Viewer:
    """A caller as the database layer sees it: a project, and whether an admin."""

    project_id: str | None
    is_admin: bool


def can_see(viewer: Viewer, *, owner: str | None, visibility: str, is_member: bool) -> bool:
    if viewer.is_admin or owner is None or visibility in PUBLIC_VISIBILITIES:
        return True
    if viewer.project_id is not None and viewer.project_id == owner:
        return True
    return visibility == "shared" and is_member


def sees_every_membership(viewer: Viewer, *, owner: str | None) -> bool:
    """Admins and the image's owner see all its memberships (Glance's database)."""
    return viewer.is_admin or (viewer.project_id is not None and viewer.project_id == owner)


def sees_membership(viewer: Viewer, *, owner: str | None, member: str) -> bool:
    """A membership exists for those who see every one, and for the member project itself; to
    anyone else it does not exist."""
    return sees_every_membership(viewer, owner=owner) or viewer.project_id == member
