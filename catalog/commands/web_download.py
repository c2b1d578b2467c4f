"""Import an image's data from an http(s) URL: the `web-download` import method.

The URL is checked when the import is asked (its scheme, host and port against the import
filter, the addresses its host resolves to): one that may not be fetched is a 400, as on
Glance, and the image must be `queued` with both formats set (409). Then its bytes are
fetched, staged and imported in the background (`fetched_import.py`), redirects checked like
the URL. Bytes that are not what `validation_data` says go, and the task fails.
"""

from __future__ import annotations

from pydantic import Field

from catalog.commands.context import CommandContext
from catalog.commands.fetched_import import (
    Fetched,
    require_importable,
    start_fetched_import,
)
from catalog.commands.fetched_urls import fetchable
from catalog.commands.import_image import ImportImage
from catalog.commands.import_pipeline import stores_asked
from catalog.commands.run_as_task import Failed
from catalog.commands.shared_data import release_data
from catalog.events import EventMetadata
from catalog.image import Image

METHOD = "web-download"


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
    await require_importable(context, metadata, command.image_id, METHOD)
    remote = await fetchable(context, command.uri, "URI for web-download does not pass filtering")
    targets = stores_asked(context, command.stores)

    async def fetch() -> Fetched:
        return Fetched(remote.get(command.uri))

    async def check_staged() -> Failed | None:
        return await _reject_unexpected(context, metadata, command)

    await start_fetched_import(
        context, metadata, command, targets, fetch, token=command.token, check_staged=check_staged
    )


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
