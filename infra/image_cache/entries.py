"""What the cache knows of an image's bytes, and which entries pruning removes (pure)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from catalog.queries.images import ImageView


@dataclass(frozen=True)
class ExpectedData:
    """The bytes an image must have, as the catalog recorded them: what a fill is checked
    against, and what a cached copy must still match to be served."""

    image_id: str
    size: int
    checksum: str | None
    os_hash_algo: str | None
    os_hash_value: str | None

    @classmethod
    def of(cls, view: ImageView) -> ExpectedData | None:
        """The image's recorded data; None if there is nothing to check a copy against."""
        if view.size is None or (view.checksum is None and view.os_hash_value is None):
            return None
        return cls(
            image_id=str(view.id),
            size=view.size,
            checksum=view.checksum,
            os_hash_algo=view.os_hash_algo,
            os_hash_value=view.os_hash_value,
        )


@dataclass(frozen=True)
class CacheEntry:
    """One cached image, as `GET /v2/cache` lists it (times are Unix seconds, as Glance's)."""

    data: ExpectedData
    last_modified: float
    last_accessed: float
    hits: int

    def listed(self) -> dict[str, object]:
        return {
            "image_id": self.data.image_id,
            "size": self.data.size,
            "last_modified": self.last_modified,
            "last_accessed": self.last_accessed,
            "hits": self.hits,
        }


def to_prune(entries: Sequence[CacheEntry], max_size: int) -> list[CacheEntry]:
    """The least recently used entries to remove so that the rest fit in `max_size` bytes."""
    total = sum(entry.data.size for entry in entries)
    chosen: list[CacheEntry] = []
    # Last used: its last hit, or its fill for one never hit since (a new entry is recent).
    for entry in sorted(entries, key=lambda e: max(e.last_accessed, e.last_modified)):
        if total <= max_size:
            break
        chosen.append(entry)
        total -= entry.data.size
    return chosen
