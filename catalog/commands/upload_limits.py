"""How many bytes an upload may stream, and what it claims against its project's quota.

An upload of known size claims that size as it starts. One of unknown size (chunked, without
a declared size) claims a first step (`QuotaLimits.upload_claim_step`, or what is left if that
is less), then, each time its bytes pass its claim, claims again up to twice what it claimed
(at least what it has): a slow or stalled one holds at most twice the bytes it sent, or the
first step, never everything the project has left, so the project's other uploads go on.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass

from catalog.commands.context import CommandContext
from catalog.errors import BadRequest, CatalogError, TooLarge
from catalog.events import EventMetadata
from catalog.image import Image
from catalog.ports import Chunk
from catalog.quotas import QuotaClaim, Usage, mib, over_limit, remaining_bytes

TOO_LARGE = "The incoming image is too large: The provided image is too large."


@dataclass(frozen=True)
class UploadBound:
    """The most bytes an upload may bring, the error when it brings more, and what it claims
    of its owner's storage quota as it starts."""

    max_size: int
    reserved: int
    """Bytes claimed as the upload starts (0 without a storage quota)."""
    too_much: CatalogError
    claims_in_steps: bool = False
    """Of unknown size under a storage quota: it claims more as its bytes arrive."""

    def claim(self, owner: str | None) -> QuotaClaim | None:
        """What starting the upload of an image of `owner` claims: one upload in progress,
        and the bytes reserved."""
        if owner is None:
            return None
        return QuotaClaim(project=owner, bytes=self.reserved, uploads=1)


async def upload_bound(
    context: CommandContext, image_id: uuid.UUID, expected_size: int | None
) -> UploadBound:
    """The tightest of: the size cap, the declared size, and what the owner's quota has left."""
    cap = context.limits.image_size_cap
    if expected_size is not None and expected_size > cap:
        raise TooLarge(TOO_LARGE)
    if expected_size is None:
        bound = UploadBound(cap, 0, TooLarge(TOO_LARGE))
    else:
        larger = BadRequest(f"The image is larger than its expected size {expected_size}.")
        bound = UploadBound(expected_size, 0, larger)
    if context.quotas is None or not context.quotas.limits.storage_limited:
        return bound  # without storage quotas the image's owner is not even needed
    owner = (await context.images.load(image_id)).owner
    if owner is None:
        return bound
    usage = await context.quotas.usage(owner)
    left = remaining_bytes(usage, context.quotas.limits.of(owner))
    if left is None:
        return bound
    if expected_size is not None:
        if expected_size > left:
            raise _over(context, owner, usage, expected_size)
        return UploadBound(expected_size, expected_size, bound.too_much)
    if left == 0:
        raise _over(context, owner, usage, 1)
    first = min(left, cap, context.quotas.limits.upload_claim_step)
    return UploadBound(cap, first, bound.too_much, claims_in_steps=True)


def _over(context: CommandContext, owner: str, usage: Usage, delta: int) -> TooLarge:
    assert context.quotas is not None
    limit = context.quotas.limits.of(owner).image_size_total
    return over_limit(owner, "image_size_total", limit, mib(usage.bytes), mib(delta))


@dataclass(frozen=True)
class StepClaims:
    """Claims more of the owner's storage quota for an upload of unknown size, as it goes."""

    context: CommandContext
    image_id: uuid.UUID
    metadata: EventMetadata

    async def grow(self, claimed: int, received: int) -> int:
        """Claim more than `received` bytes (twice `claimed`, if the project has that much
        left); the new claim. `TooLarge` if the project has not enough left."""
        quotas = self.context.quotas
        assert quotas is not None
        owner = (await self.context.images.load(self.image_id)).owner
        assert owner is not None
        usage = await quotas.usage(owner)  # this upload's claim is in it
        left = remaining_bytes(usage, quotas.limits.of(owner)) or 0
        cap = self.context.limits.image_size_cap
        wanted = min(max(2 * claimed, received), claimed + left, cap)
        if wanted < received:
            raise _over(self.context, owner, usage, received - claimed)

        def grow(image: Image) -> None:
            image.grow_upload_claim(wanted, self.context.clock.now())

        claim = QuotaClaim(project=owner, bytes=wanted - claimed)
        await self.context.images.change(self.image_id, self.metadata, grow, claim=lambda _: claim)
        return wanted


async def bounded(
    chunks: AsyncIterable[Chunk], bound: UploadBound, steps: StepClaims
) -> AsyncIterator[Chunk]:
    """The chunks, failing with the bound's error as soon as they pass its size, and claiming
    more of the quota in steps as they pass the claim (if the bound says so)."""
    total = 0
    claimed = bound.reserved
    async for chunk in chunks:
        total += len(chunk)
        if total > bound.max_size:
            raise bound.too_much
        if bound.claims_in_steps and total > claimed:
            claimed = await steps.grow(claimed, total)
        yield chunk
