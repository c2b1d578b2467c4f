"""Per-project quotas: how many images a project may have and how many bytes they may hold.

Hard limits: a claim is checked and recorded in the same transaction, serialised per project,
so concurrent requests can never take a project past its limit together. An upload claims its
bytes before the first one is written (the expected size; or, when the size is not known, all
that is left) and gives back what it did not use when it ends.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from catalog.errors import TooLarge

MiB = 1024 * 1024
UNLIMITED = -1


@dataclass(frozen=True)
class ProjectLimits:
    image_count_total: int = UNLIMITED
    """Images that are not deleted."""
    image_size_total: int = UNLIMITED
    """MiB of image data, uploads in progress included (Glance's unit)."""

    @property
    def unlimited(self) -> bool:
        return self.image_count_total == self.image_size_total == UNLIMITED


@dataclass(frozen=True)
class QuotaLimits:
    default: ProjectLimits = ProjectLimits()
    projects: Mapping[str, ProjectLimits] = field(default_factory=dict)

    @property
    def unlimited(self) -> bool:
        """No project has any limit: nothing to count or to serialise."""
        return self.default.unlimited and all(p.unlimited for p in self.projects.values())

    def of(self, project: str | None) -> ProjectLimits:
        if project is None:
            return ProjectLimits()
        return self.projects.get(project, self.default)


@dataclass(frozen=True)
class Usage:
    images: int
    bytes: int


@dataclass(frozen=True)
class QuotaClaim:
    """What an append adds to a project's usage; checked against its limits atomically."""

    project: str
    images: int = 0
    bytes: int = 0


def check(claim: QuotaClaim, usage: Usage, limits: ProjectLimits) -> None:
    """`TooLarge` (413) if `claim` on top of `usage` passes a limit."""
    count_limit, size_limit = limits.image_count_total, limits.image_size_total
    if claim.images and count_limit != UNLIMITED and usage.images + claim.images > count_limit:
        raise over_limit(claim.project, "image_count_total", count_limit, usage.images, 1)
    if claim.bytes and size_limit != UNLIMITED and usage.bytes + claim.bytes > size_limit * MiB:
        raise over_limit(
            claim.project, "image_size_total", size_limit, mib(usage.bytes), mib(claim.bytes)
        )


def remaining_bytes(usage: Usage, limits: ProjectLimits) -> int | None:
    """Bytes the project may still add; None if unlimited."""
    if limits.image_size_total == UNLIMITED:
        return None
    return max(0, limits.image_size_total * MiB - usage.bytes)


def over_limit(project: str, resource: str, limit: int, usage: int, delta: int) -> TooLarge:
    # The wording of OpenStack's unified limits, which clients and operators already know.
    return TooLarge(
        "The request returned a 413 Request Entity Too Large. This generally means that rate "
        "limiting or a quota threshold was breached.\n\nThe response body:\n"
        f"Project {project} is over a limit for [Resource {resource} is over limit of {limit} "
        f"due to current usage {usage} and delta {delta}]"
    )


def mib(size: int) -> int:
    """Bytes in MiB, rounded up (quota figures are shown in MiB)."""
    return -(-size // MiB)
