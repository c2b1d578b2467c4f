"""Attach data that already sits in a configured store: POST /v2/images/{id}/locations.

Callers with the `service` role (the compute and volume services) may name data in any store,
but not another image's data unless they may download that image (`shared_data.may_attach`);
other callers only data at an http(s) URL, through a configured http store. A location in the
catalog's own stores is recorded as the store spells it, so that every image holding the same
bytes is found by the same location.

Everything that can be told without reading the data is checked first (the input, the caller's
rights, the image's status, whether the store may read the location): a refusal is a 4xx and
leaves nothing behind. Then the work runs as a `location_import` task, as in Glance: the data
is read once to record its size and hashes before the image becomes active, so an active image
always has a known size, checksum and os_hash_value. Given `validation_data`, the image's hash
is that algorithm's (Glance's rule), and it must match: if not, or if the data cannot be read,
the task fails and the image stays `queued` (a location in a read-only store stays listed on
it, as Glance leaves it); the request is still accepted (202), as in Glance.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid

from pydantic import BaseModel, ConfigDict

from catalog.commands.access import image_access
from catalog.commands.base import Command
from catalog.commands.context import CommandContext
from catalog.commands.run_as_task import Failed, NewTask, Outcome, image_result, run_as_task
from catalog.commands.shared_data import as_recorded, may_attach
from catalog.errors import (
    BadRequest,
    CatalogError,
    Conflict,
    DatabaseUnavailable,
    Forbidden,
    RefusedLocation,
)
from catalog.events import EventMetadata, ImageLocationAdded
from catalog.image import Image, ImageStatus
from catalog.ports import DataStore
from catalog.task import Task, TaskType

HASH_ALGORITHMS = ("sha1", "sha256", "sha512", "md5")
HASHING_ALGORITHM = "sha512"
"""The image's hash when the caller gives none to check (Glance's `hashing_algorithm`)."""


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
) -> Task:
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
    try:
        await store.check_location(url)
    except RefusedLocation as e:
        raise _not_passing(e) from e

    async def work() -> Outcome:
        return await _import_location(context, metadata, command.image_id, store_name, url, wanted)

    task_input = {
        "image_id": str(command.image_id),
        "loc_url": url,  # as recorded: without any credentials it was given with
        "validation_data": {} if wanted is None else wanted.model_dump(),
    }
    new = NewTask(TaskType.LOCATION_IMPORT, task_input, command.image_id)
    return await run_as_task(context, metadata, new, work)


def _not_passing(refused: RefusedLocation) -> BadRequest:
    # Glance's words for a location its filter refuses, which clients look for.
    return BadRequest(f"URI for add location does not pass filtering: {refused.reason}")


async def _import_location(
    context: CommandContext,
    metadata: EventMetadata,
    image_id: uuid.UUID,
    store_name: str,
    url: str,
    wanted: ValidationData | None,
) -> Outcome:
    algorithm = HASHING_ALGORITHM if wanted is None else wanted.os_hash_algo
    store = context.stores.named(store_name)
    try:
        size, checksum, digest = await _hashes(store, url, algorithm)
    except DatabaseUnavailable:
        raise
    except RefusedLocation as e:  # a redirect to an address the store may not reach
        return Failed(_not_passing(e).message)
    except CatalogError as e:
        return Failed(f"Reading the data at the location failed: {e.message}")
    if wanted is not None and digest != wanted.os_hash_value.lower():
        reason = (
            f"os_hash_value: ({wanted.os_hash_value}) not matched with actual"
            f" os_hash_value: ({digest})"
        )
        if store_name not in context.stores.writable_names:

            def reject(current: Image) -> None:
                current.reject_location(store_name, url, reason, context.clock.now())

            await context.images.change(image_id, metadata, reject)
        return Failed(reason)
    added = ImageLocationAdded(
        store=store_name,
        location=url,
        size=size,
        checksum=checksum,
        os_hash_algo=algorithm,
        os_hash_value=digest,
    )

    def attach(current: Image) -> None:
        current.add_location(added, context.clock.now())

    await context.images.change(image_id, metadata, attach)
    return image_result(image_id)


async def _hashes(store: DataStore, url: str, algorithm: str) -> tuple[int, str, str]:
    """The size, md5 checksum and `algorithm` hash of the data at `url`."""
    md5, digest = hashlib.md5(usedforsecurity=False), hashlib.new(algorithm)
    size = 0

    def update(chunk: bytes) -> None:
        md5.update(chunk)
        digest.update(chunk)

    async for chunk in store.get(url):
        size += len(chunk)
        # Off the event loop: hashing a multi-GiB image must not stall other requests.
        await asyncio.to_thread(update, chunk)
    return size, md5.hexdigest(), digest.hexdigest()
