"""Who is asking: the caller's identity as the API receives it."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Actor(BaseModel):
    """The user and project behind a request, and their roles."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    user_id: str | None = None
    project_id: str | None = None
    roles: tuple[str, ...] = ()

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles

    def has_role(self, role: str) -> bool:
        return role in self.roles


SYSTEM_ACTOR = Actor(user_id="catalog", project_id=None, roles=("admin", "service"))
"""The actor recorded for what the catalog does by itself (recovery, operators' commands)."""

SCRUBBER_ACTOR = Actor(user_id="catalog-scrubber", project_id=None, roles=("service",))
"""The actor recorded for the scrubber's removal of the data of deleted images."""
