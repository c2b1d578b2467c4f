"""An image as a Glance database holds it, carried by the events of a migration from Glance.

Glance's own values, as its tables have them (its times included), with each data location
already mapped to the catalog's store that holds it: what `image.migrated` begins a stream with,
and what `image.glance_synced` records a later run found.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _GlanceValue(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class GlanceMember(_GlanceValue):
    """A project the image is shared with, and its answer."""

    member: str
    status: str
    created_at: datetime
    updated_at: datetime


class GlanceLocation(_GlanceValue):
    """One copy of the image's bytes: Glance's URL, the catalog store holding it, Glance's
    metadata for it."""

    url: str
    store: str
    metadata: dict[str, object] = Field(default_factory=dict)


class GlanceImage(_GlanceValue):
    """Everything Glance keeps about one image that the catalog shows or decides on."""

    status: Literal[
        "queued",
        "saving",
        "active",
        "killed",
        "deleted",
        "pending_delete",
        "deactivated",
        "uploading",
        "importing",
    ]
    name: str | None = None
    disk_format: str | None = None
    container_format: str | None = None
    visibility: Literal["public", "private", "shared", "community"] = "shared"
    protected: bool = False
    os_hidden: bool = False
    min_ram: int = 0
    min_disk: int = 0
    owner: str | None = None
    size: int | None = None
    virtual_size: int | None = None
    checksum: str | None = None
    os_hash_algo: str | None = None
    os_hash_value: str | None = None
    properties: dict[str, str] = Field(default_factory=dict)
    tags: tuple[str, ...] = ()
    members: tuple[GlanceMember, ...] = ()
    locations: tuple[GlanceLocation, ...] = ()
    """The data's copies, in Glance's order (active ones; a pending deletion's kept ones)."""
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None = None

    @property
    def has_data(self) -> bool:
        return self.size is not None and self.checksum is not None and bool(self.locations)
