"""Import an image's data from an http(s) URL: the `web-download` import method.

The URL is checked when the import is asked (its scheme, host and port against the import
filter, the addresses its host resolves to): one that may not be fetched is a 400, as on
Glance, and the image must be `queued` with both formats set (409). The import's task takes
the image's import lock before the request is answered, as every import's (`import_lock.py`):
a second import meanwhile is a 409. Then, in the background, the bytes are fetched and staged
into the first store asked as a staging is (PUT …/stage): inspected, hashed and counted
against the owner's quota as they stream, in one pass, redirects checked like the URL. Bytes
that are not what `validation_data` says go. The lock then brings the staged bytes, imported
as glance-direct's are (`import_image.staged_import`): the image is `importing` until they are
written into every store asked, then `active`. Any failure leaves the task failed with why and
the image `queued` without a byte: a fetch that fails removes what it had staged
(`upload_image_data`), an import that fails removes what it wrote (`import_lock`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from pydantic import Field

from catalog.commands.access import require
from catalog.commands.context import CommandContext
from catalog.commands.fetched_urls import fetchable
from catalog.commands.import_image import ImportImage, import_task, staged_import
from catalog.commands.import_lock import locked_import, take_import_lock
from catalog.commands.import_pipeline import stores_asked
from catalog.commands.run_as_task import Failed, Outcome, Work, start_as_task
from catalog.commands.shared_data import release_data
from catalog.commands.upload_image_data import UploadImageData, upload_image_data
from catalog.errors import CatalogError, Conflict
from catalog.events import EventMetadata
from catalog.image import Image, ImageStatus
from catalog.ports import RemoteData
from catalog.task import Task

METHOD = "web-download"
RULE = "modify_image"


class WebDownload(ImportImage):
    uri: str = ""
    validation: tuple[str, str] | None = Field(default=None)
    """`validation_data`: the algorithm and hash the fetched bytes must have."""
    token: str | None = Field(default=None, repr=False)
    """The caller's token, for a key manager that keeps signed images' certificates: the
    fetched bytes are verified as an upload's are."""


async def web_download(
    command: WebDownload, context: CommandContext, metadata: EventMetadata
) -> None:
    image = await context.images.load(command.image_id)
    require(context, image, metadata.actor, RULE)
    _require_importable(image)
    remote = await fetchable(context, command.uri, "URI for web-download does not pass filtering")
    targets = stores_asked(context, command.stores)

    async def begin(task: Task) -> Work:
        async def fetch_then_import() -> Outcome:
            staging = UploadImageData(
                image_id=command.image_id,
                chunks=_fetched(remote, command.uri),
                store=targets[0],
                staging=True,
                token=command.token,
            )
            await upload_image_data(staging, context, metadata)
            wrong = await _reject_unexpected(context, metadata, command)
            if wrong is not None:
                return wrong
            # The lock, held since the request, now brings the staged bytes (`importing`).
            image_id = command.image_id
            await take_import_lock(
                context, metadata, image_id, task.id, targets, rule=RULE, brings_data=True
            )
            return await staged_import(context, metadata, command, targets)()

        locked = locked_import(
            context, metadata, command.image_id, targets, fetch_then_import, rule=RULE
        )
        return await locked(task)

    new = import_task(command.image_id, command.request_shown, targets)
    await start_as_task(context, metadata, new, begin)


async def _fetched(remote: RemoteData, uri: str) -> AsyncIterator[bytes]:
    """The URL's bytes. Its server's failure (an error, bytes cut short, a stall) is told in
    the task's message as the source's, not as a store's."""
    try:
        async for chunk in remote.get(uri):
            yield chunk
    except CatalogError as e:
        e.detail = e.detail or f"Fetching the data failed: {e.__cause__ or e.message}"
        raise


def _require_importable(image: Image) -> None:
    """Glance's preconditions for web-download (409s); an import under way first."""
    image.require_no_import()
    if image.status is not ImageStatus.QUEUED:
        raise Conflict(f"Image needs to be in 'queued' state to use '{METHOD}' method")
    if image.container_format is None:
        raise Conflict("'container_format' needs to be set before import")
    if image.disk_format is None:
        raise Conflict("'disk_format' needs to be set before import")


async def _reject_unexpected(
    context: CommandContext, metadata: EventMetadata, command: WebDownload
) -> Failed | None:
    """The staged bytes go, and the image is queued again, if their hash is not the one
    `validation_data` gave."""
    if command.validation is None:
        return None

    def check(image: Image) -> str | None:
        staged = image.staged
        assert staged is not None
        if (staged.os_hash_algo, staged.os_hash_value) == command.validation:
            return None
        return image.reject_staged("Image hash does not match validation_data", context.clock.now())

    doomed = await context.images.change(command.image_id, metadata, check)
    if doomed is None:
        return None
    await release_data(context, command.image_id, doomed)
    algorithm, value = command.validation
    return Failed(f"The data's {algorithm} hash is not {value}, as validation_data says.")
