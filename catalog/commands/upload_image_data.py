"""Stream an image's bytes into a store: PUT /v2/images/{id}/file, and PUT …/stage.

Upload: queued → saving (location recorded first) → bytes streamed and hashed → active.
Stage: queued → uploading (location recorded first) → bytes streamed and hashed → staged, still
`uploading` until a glance-direct import makes them the image's data (see import_image.py).
Staging writes straight into the store the data will live in, so the import moves nothing.
Any failure removes the partial bytes and returns the image to `queued`: no image is left
half-done.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterable

from pydantic import ConfigDict, Field

from catalog.commands.access import require
from catalog.commands.base import Command
from catalog.commands.context import CommandContext
from catalog.commands.shared_data import release_data
from catalog.commands.signed_data import check_signature, verifier_for
from catalog.commands.upload_limits import StepClaims, bounded, upload_bound
from catalog.disk_formats import FormatInspector, Inspection, accept, inspected
from catalog.errors import BadRequest, CatalogError
from catalog.events import EventMetadata, ImageStaged, ImageUploaded
from catalog.image import Image
from catalog.ports import Chunk, StoredData
from catalog.signatures import SignedWith


class UploadImageData(Command):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    image_id: uuid.UUID
    chunks: AsyncIterable[Chunk]
    store: str | None = None
    expected_size: int | None = None
    staging: bool = False
    token: str | None = Field(default=None, repr=False)
    """The caller's token, for a key manager that keeps signed images' certificates."""


async def upload_image_data(
    command: UploadImageData, context: CommandContext, metadata: EventMetadata
) -> None:
    with context.streaming_here.working_on(command.image_id):
        await _stream_in(command, context, metadata)


async def _stream_in(
    command: UploadImageData, context: CommandContext, metadata: EventMetadata
) -> None:
    actor = metadata.actor
    store_name = command.store or context.stores.default_name
    store = context.stores.writable(store_name)
    location = store.location_for(str(command.image_id))
    bound = await upload_bound(context, command.image_id, command.expected_size)

    def start(image: Image) -> tuple[str | None, str | None, SignedWith | None]:
        # Glance's rules: uploading is `upload_image`; staging for an import is a change.
        require(context, image, actor, "modify_image" if command.staging else "upload_image")
        image.start_upload(
            store=store_name,
            location=location,
            expected_size=command.expected_size,
            now=context.clock.now(),
            node_id=context.node_id,
            staging=command.staging,
            reserved=bound.reserved,
        )
        # The formats and signature as the upload starts: what the data is checked against.
        return image.disk_format, image.container_format, SignedWith.of(image.properties)

    disk_format, container_format, signed = await context.images.change(
        command.image_id, metadata, start, claim=lambda image: bound.claim(image.owner)
    )
    inspector = FormatInspector()
    try:
        verifier = await verifier_for(context, command.image_id, signed, command.token)
        steps = StepClaims(context, command.image_id, metadata)
        chunks = inspected(bounded(command.chunks, bound, steps), inspector)
        stored = await store.add(
            str(command.image_id),
            chunks,
            max_size=context.limits.image_size_cap,
            also_digest=[verifier.digest_name] if verifier else [],
        )
        if command.expected_size is not None and stored.size != command.expected_size:
            raise BadRequest(
                f"Image size {stored.size} does not match the expected size "
                f"{command.expected_size}."
            )
        check_signature(verifier, command.image_id, stored.digests)
        inspection = inspector.finish()
        virtual_size = _checked_format(
            inspection, disk_format, container_format, staging=command.staging
        )
    except BaseException as e:
        # Shielded: a client that went away must still leave the image queued, not saving.
        await asyncio.shield(_abandon(context, command.image_id, metadata, store_name, location, e))
        raise
    await _complete(
        context,
        command.image_id,
        metadata,
        store_name,
        stored,
        inspection,
        virtual_size,
        staging=command.staging,
        signed=signed,
    )


def _checked_format(
    inspection: Inspection,
    disk_format: str | None,
    container_format: str | None,
    *,
    staging: bool,
) -> int | None:
    """The virtual size to record; `DiskFormatRejected` for unsafe data, or for an upload's
    data that is not its claimed disk format (a staging's is checked at import, when the
    format is final)."""
    if container_format != "bare":
        return None  # the disk is inside a container (ova, docker, ...): nothing to inspect
    if staging or disk_format is None:
        return accept(inspection.format, inspection)  # only the safety checks
    return accept(disk_format, inspection)


async def _complete(
    context: CommandContext,
    image_id: uuid.UUID,
    metadata: EventMetadata,
    store_name: str,
    stored: StoredData,
    inspection: Inspection,
    virtual_size: int | None,
    *,
    staging: bool,
    signed: SignedWith | None,
) -> None:
    """Record the streamed bytes: as the image's data (active), or as staged for an import
    (with the signature they were verified against)."""
    digests = {
        "size": stored.size,
        "checksum": stored.checksum,
        "os_hash_algo": stored.os_hash_algo,
        "os_hash_value": stored.os_hash_value,
    }

    def complete(image: Image) -> None:
        now = context.clock.now()
        if staging:
            found = {"found_format": inspection.format, "virtual_size": inspection.virtual_size}
            signed_with = signed.as_properties() if signed else None
            image.complete_staging(ImageStaged(**digests, **found, signed_with=signed_with), now)
        else:
            uploaded = ImageUploaded(
                store=store_name, location=stored.location, virtual_size=virtual_size, **digests
            )
            image.complete_upload(uploaded, now)

    try:
        await context.images.change(image_id, metadata, complete)
    except CatalogError:
        # Deleted (410) or reset while the bytes streamed in: they belong to no image, so they go.
        await release_data(context, image_id, stored.location, store_name)
        raise


async def _abandon(
    context: CommandContext,
    image_id: uuid.UUID,
    metadata: EventMetadata,
    store_name: str,
    location: str,
    cause: BaseException,
) -> None:
    await release_data(context, image_id, location, store_name)
    reason = cause.message if isinstance(cause, CatalogError) else type(cause).__name__

    def fail(image: Image) -> None:
        # Someone else may have ended the upload (the image deleted, or its upload failed by
        # recovery), which is why the store stopped taking its bytes: then the answer is the
        # image's, the one its completion would have had (410, 409). A cancellation stays one.
        if image.transfer_in_progress or isinstance(cause, Exception):
            image.fail_upload(reason, context.clock.now())

    await context.images.change(image_id, metadata, fail)
