"""The URLs imports fetch data from (web-download, the tasks API's `import_from`)."""

from __future__ import annotations

from catalog.commands.context import CommandContext
from catalog.errors import BadRequest, RefusedLocation
from catalog.ports import RemoteData


async def fetchable(context: CommandContext, url: str, refusal: str) -> RemoteData:
    """Where `url`'s data is fetched from, once it passed the import filter and the address
    rules, without fetching it: else a 400 that says `refusal` (Glance's words for the
    caller) with the URL."""
    remote = context.task_settings.remote
    try:
        if remote is None:
            raise RefusedLocation("no data is fetched from URLs here")
        await remote.check_location(url)
    except RefusedLocation as e:
        raise BadRequest(f"{refusal}: {url}") from e
    return remote
