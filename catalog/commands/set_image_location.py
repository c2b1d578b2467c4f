"""Attach data that already sits in a configured store: POST /v2/images/{id}/locations.

Callers with the `service` role (the compute and volume services) may name data in any store,
but not another image's data unless they may download that image (`shared_data.may_attach`);
other callers only data at an http(s) URL, through a configured http store. A location in the
catalog's own stores is recorded as the store spells it, so that every image holding the same
bytes is found by the same location.

The data is read once to record its size and hashes before the image becomes active, so an
active image always has a known size, checksum and os_hash_value. Given `validation_data`, the
computed hash must match it.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid

from pydantic import BaseModel, ConfigDict

from catalog.commands.access import image_access
from catalog.commands.base import Command
from catalog.commands.context import CommandContext
from catalog.commands.shared_data import as_recorded, may_attach
from catalog.errors import BadRequest, Conflict, Forbidden, RefusedLocation
from catalog.events import EventMetadata, ImageLocationAdded
from catalog.image import Image, ImageStatus

HASH_ALGORITHMS = ("sha1", "sha256", "sha512", "md5")


class ValidationData(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    os_hash_algo: str
    os_hash_value: str


class SetImageLocation(Command):
    image_id: uuid.UUID
    url: str
    validation_data: ValidationData | None = None


async def set_image_location(
    command: SetImageLocation, context: CommandContext, metadata: EventMetadata
) -> None:
    actor = metadata.actor
    wanted = command.validation_data
    if wanted is not None:
        if wanted.os_hash_algo not in HASH_ALGORITHMS:
            raise BadRequest(f"Invalid os_hash_algo: {wanted.os_hash_algo}")
        if len(wanted.os_hash_value) != hashlib.new(wanted.os_hash_algo).digest_size * 2:
            raise BadRequest("os_hash_value has an unexpected length for os_hash_algo.")
    store_name, store = context.stores.for_location(command.url)

    image = await context.images.load(command.image_id)
    access = image_access(context, image, actor)
    if image.status is not ImageStatus.QUEUED:
        raise Conflict(f"It's not allowed to add locations if image status is {image.status}.")
    access.enforce("add_image_location")
    url = command.url
    if store_name in context.stores.writable_names:
        # Only the cloud's services may point an image at data in the catalog's own stores
        # (data they put there), and not at another image's data they may not download;
        # users may only name data at an http(s) URL. Every refusal reads the same, so none
        # tells whether some image's data is there.
        if not (
            context.policy.is_service(actor)
            and await may_attach(context, actor, image.id, store, url)
        ):
            raise Forbidden("http store must be enabled to use location API by normal user.")
        url = as_recorded(store, url)

    md5, digest = hashlib.md5(usedforsecurity=False), hashlib.sha512()
    hashes = [md5, digest, *([hashlib.new(wanted.os_hash_algo)] if wanted else [])]
    check = hashes[2] if wanted else None
    size = 0

    def update(chunk: bytes) -> None:
        for h in hashes:
            h.update(chunk)

    try:
        async for chunk in store.get(url):
            size += len(chunk)
            # Off the event loop: hashing a multi-GiB image must not stall other requests.
            await asyncio.to_thread(update, chunk)
    except RefusedLocation as e:
        # Glance's words for a location its filter refuses, which clients look for.
        raise BadRequest(f"URI for add location does not pass filtering: {e.reason}") from e
    if (
        check is not None
        and wanted is not None
        and check.hexdigest() != wanted.os_hash_value.lower()
    ):
        raise BadRequest("The data at the location does not match validation_data.")
    added = ImageLocationAdded(
        store=store_name,
        location=url,
        size=size,
        checksum=md5.hexdigest(),
        os_hash_algo="sha512",
        os_hash_value=digest.hexdigest(),
    )

    def attach(current: Image) -> None:
        current.add_location(added, context.clock.now())

    await context.images.change(command.image_id, metadata, attach)
