"""How many bytes an upload may stream, and what it claims against its project's quota."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass

from catalog.commands.context import CommandContext
from catalog.errors import BadRequest, CatalogError, TooLarge
from catalog.quotas import QuotaClaim, mib, over_limit, remaining_bytes

TOO_LARGE = "The incoming image is too large: The provided image is too large."


@dataclass(frozen=True)
class UploadBound:
    """The most bytes an upload may bring, and the error when it brings more."""

    max_size: int
    reserved: int
    """Bytes claimed against the owner's storage quota (0 without a storage quota)."""
    project: str | None
    too_much: CatalogError

    def claim(self) -> QuotaClaim | None:
        if not self.reserved or self.project is None:
            return None
        return QuotaClaim(project=self.project, bytes=self.reserved)


async def upload_bound(
    context: CommandContext, image_id: uuid.UUID, expected_size: int | None
) -> UploadBound:
    """The tightest of: the size cap, the declared size, and what the owner's quota has left.

    With a storage quota an upload of known size claims that size; one of unknown size claims
    everything left, since it may need it (another upload of the project then waits its turn).
    """
    cap = context.limits.image_size_cap
    if expected_size is not None and expected_size > cap:
        raise TooLarge(TOO_LARGE)
    if expected_size is None:
        bound = UploadBound(cap, 0, None, TooLarge(TOO_LARGE))
    else:
        larger = BadRequest(f"The image is larger than its expected size {expected_size}.")
        bound = UploadBound(expected_size, 0, None, larger)
    if context.quotas is None or context.quotas.limits.unlimited:
        return bound  # without quotas the image's owner is not even needed
    owner = (await context.images.load(image_id)).owner
    if owner is None:
        return bound
    limits = context.quotas.limits.of(owner)
    usage = await context.quotas.usage(owner)
    left = remaining_bytes(usage, limits)
    if left is None:
        return bound

    def over(delta: int) -> TooLarge:
        used = mib(usage.bytes)
        return over_limit(owner, "image_size_total", limits.image_size_total, used, mib(delta))

    if expected_size is not None:
        if expected_size > left:
            raise over(expected_size)
        return UploadBound(expected_size, expected_size, owner, bound.too_much)
    if left == 0:
        raise over(1)
    wanted = min(left, cap)
    return UploadBound(wanted, wanted, owner, over(wanted + 1))


async def bounded(chunks: AsyncIterable[bytes], bound: UploadBound) -> AsyncIterator[bytes]:
    """The chunks, failing with the bound's error as soon as they pass its size."""
    total = 0
    async for chunk in chunks:
        total += len(chunk)
        if total > bound.max_size:
            raise bound.too_much
        yield chunk
