"""What every command handler works with, wired once by the composition root."""

from __future__ import annotations

from dataclasses import dataclass

from catalog.commands.repository import ImageRepository
from catalog.ports import Clock, DataStores, QuotaUsage


@dataclass(frozen=True)
class Limits:
    image_size_cap: int = 1 << 40
    """The largest image accepted, in bytes (Glance's `image_size_cap`, 1 TiB)."""
    image_tag_quota: int = 128
    """Tags per image (Glance's `image_tag_quota`); negative means unlimited."""
    image_member_quota: int = 128
    """Members per image (Glance's `image_member_quota`); negative means unlimited."""
    image_property_quota: int = 128
    """Custom properties per image (Glance's `image_property_quota`); negative: unlimited."""


@dataclass(frozen=True)
class CommandContext:
    images: ImageRepository
    stores: DataStores
    clock: Clock
    limits: Limits = Limits()
    node_id: str | None = None
    """This process, as recorded on the uploads it streams (see `recover_uploads`)."""
    quotas: QuotaUsage | None = None
    """Per-project limits and usage; None: no project quotas."""
