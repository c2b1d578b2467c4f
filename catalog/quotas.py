"""Per-project quotas: how many images a project may have and how many bytes they may hold.

Hard limits: a claim is checked and recorded in the same transaction, serialised per project,
so concurrent requests can never take a project past its limit together. An upload claims its
bytes before the first one is written (the expected size; or, when the size is not known, a
first step, then more in steps as its bytes arrive: see catalog/commands/upload_limits.py) and
gives back what it did not use when it ends. Beside the quotas, a project may have only so many
uploads in progress at once: a limit on work in flight, answered 429, not a quota (413).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from catalog.errors import TooLarge, TooManyRequests

MiB = 1024 * 1024
UNLIMITED = -1


@dataclass(frozen=True)
class ProjectLimits:
    image_count_total: int = UNLIMITED
    """Images that are not deleted."""
    image_size_total: int = UNLIMITED
    """MiB of image data, uploads in progress included (Glance's unit)."""
    uploads_in_progress: int = UNLIMITED
    """Uploads and stagings streaming in at once."""

    @property
    def unlimited(self) -> bool:
        """No quota (the uploads a project may have in progress are no quota)."""
        return self.image_count_total == self.image_size_total == UNLIMITED

    def bounds(self, claim: QuotaClaim) -> bool:
        """Whether a limit applies to something `claim` claims (else there is nothing to
        check, nor to serialise)."""
        return bool(
            (claim.images and self.image_count_total != UNLIMITED)
            or (claim.bytes and self.image_size_total != UNLIMITED)
            or (claim.uploads and self.uploads_in_progress != UNLIMITED)
        )


@dataclass(frozen=True)
class QuotaLimits:
    default: ProjectLimits = ProjectLimits()
    projects: Mapping[str, ProjectLimits] = field(default_factory=dict)
    upload_claim_step: int = 64 * MiB
    """What an upload of unknown size claims of its project's storage at first, in bytes."""

    @property
    def storage_limited(self) -> bool:
        """Some project has a storage quota (`image_size_total`)."""
        limits = [self.default, *self.projects.values()]
        return any(limit.image_size_total != UNLIMITED for limit in limits)

    def of(self, project: str | None) -> ProjectLimits:
        if project is None:
            return ProjectLimits()
        return self.projects.get(project, self.default)


@dataclass(frozen=True)
class Usage:
    images: int
    bytes: int
    uploads: int = 0
    """Uploads and stagings streaming in."""


@dataclass(frozen=True)
class QuotaClaim:
    """What an append adds to a project's usage; checked against its limits atomically."""

    project: str
    images: int = 0
    bytes: int = 0
    uploads: int = 0
    """Uploads (or stagings) that start."""


def check(claim: QuotaClaim, usage: Usage, limits: ProjectLimits) -> None:
    """`TooLarge` (413) if `claim` on top of `usage` passes a quota; `TooManyRequests` (429)
    if it passes the uploads a project may have in progress."""
    count_limit, size_limit = limits.image_count_total, limits.image_size_total
    uploads_limit = limits.uploads_in_progress
    if (
        claim.uploads
        and uploads_limit != UNLIMITED
        and usage.uploads + claim.uploads > uploads_limit
    ):
        raise TooManyRequests(
            f"Project {claim.project} has {usage.uploads} uploads in progress, the most it may"
            f" have at once ({uploads_limit}); try again once one of them ends."
        )
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
