"""Who is asking: the caller's identity as the API receives it."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


def _absent(value: Any) -> bool:
    return value is None or value == ()


def _optional() -> Any:
    # Left out of stored events when not set, so that most actors (and every actor recorded
    # before these fields existed) are written and read back alike.
    return Field(default=None, exclude_if=_absent)


class Actor(BaseModel):
    """The user and project behind a request, their roles, and the scope of their token."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    user_id: str | None = None
    project_id: str | None = None
    roles: tuple[str, ...] = ()
    user_domain_id: str | None = _optional()
    project_domain_id: str | None = _optional()
    domain_id: str | None = _optional()
    """The domain of a domain-scoped token."""
    system_scope: str | None = _optional()
    """"all" for a system-scoped token."""
    service_roles: tuple[str, ...] = Field(default=(), exclude_if=_absent)
    """Roles of the service token sent beside the user's (`X-Service-Token`), as a service
    such as compute sends it when acting for a user."""


SYSTEM_ACTOR = Actor(
    user_id="catalog", project_id=None, roles=("admin", "service"), system_scope="all"
)
"""The actor recorded for what the catalog does by itself (recovery, operators' commands):
an admin of the whole system, as Keystone's system-scoped tokens are."""

MIGRATION_ACTOR = Actor(
    user_id="catalog-import-glance", project_id=None, roles=("admin", "service"), system_scope="all"
)
"""Who records what `catalog import-glance` brings from Glance."""
SCRUBBER_ACTOR = Actor(user_id="catalog-scrubber", project_id=None, roles=("service",))
"""The actor recorded for the scrubber's removal of the data of deleted images."""
