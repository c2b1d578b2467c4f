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


def sees_membership(viewer: Viewer, *, owner: str | None, member: str) -> bool:
    """Glance's database shows a membership to admins, to the image's owner and to the member
    project itself; to anyone else it does not exist."""
    return viewer.is_admin or (
        viewer.project_id is not None and viewer.project_id in (owner, member)
    )
