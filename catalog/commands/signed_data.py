"""Verifying the signature of data an upload streams in (see `catalog/signatures.py`).

The verifier is made before the first byte is stored, as Glance makes it: a signature that
cannot be checked (its certificate unknown, expired, of another key type, ...) refuses the
upload before the data is read. Its digest is then taken in the store's own hashing pass and
checked once the data is stored.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from catalog.commands.context import CommandContext
from catalog.errors import BadRequest
from catalog.signatures import SignatureRefused, SignedWith, Verifier, refused


def signature_failure(image_id: uuid.UUID, why: SignatureRefused) -> BadRequest:
    """A refused signature, answered as Glance answers it."""
    return BadRequest(f"Signature verification failed for image {image_id}: {why.detail}")


@contextmanager
def _answered_as_glance(image_id: uuid.UUID) -> Iterator[None]:
    try:
        yield
    except SignatureRefused as e:
        raise signature_failure(image_id, e) from e


async def verifier_for(
    context: CommandContext, image_id: uuid.UUID, signed: SignedWith | None, token: str | None
) -> Verifier | None:
    """The verifier of the image's data; None if the image is not signed. `BadRequest` if its
    signature cannot be verified."""
    if signed is None:
        return None
    with _answered_as_glance(image_id):
        found = await context.certificates.find(signed.certificate_uuid, token)
        if found is None:
            raise refused(f"Certificate not found with ID: {signed.certificate_uuid}")
        return Verifier(signed, found, context.clock.now())


def check_signature(
    verifier: Verifier | None, image_id: uuid.UUID, digests: Mapping[str, str]
) -> None:
    """`BadRequest` unless the stored data's digests match its signature."""
    if verifier is not None:
        with _answered_as_glance(image_id):
            verifier.verify(digests)
