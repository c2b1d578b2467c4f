"""Import an image from another region's image service: the `glance-download` import method.

A web-download whose URL is found in the caller's service catalog (Keystone): the image
service of the region asked (`glance_region`, at `glance_service_interface`, public by
default). As on Glance, the request is checked (the image `queued` with both formats set,
409; the remote image's id, 400) and answered 202 once the task holds the import lock; the
rest runs in the task, with the caller's token:

1. the region's image service is found in the caller's catalog;
2. the remote image is read (`GET <endpoint>/v2/images/<id>`): it must be `active`, and the
   local image takes its disk and container formats and the properties whose names start
   with one of the configured prefixes (`OtherRegions.copied_properties`);
3. its bytes (`<endpoint>/v2/images/<id>/file`) are fetched, staged and imported as
   web-download's are (`fetched_import.py`), and must be as many as the remote image's size.

Every URL passes the import filter and address rules web-download's do, as on Glance 33:
endpoints in the catalog are not trusted more than URLs users give. Any failure fails the
task with why, and the image is back to `queued` without a byte and with the formats and
properties it had (as Glance's revert).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

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
from catalog.errors import BadRequest, Conflict, NotFound
from catalog.events import EventMetadata, ImageUpdated
from catalog.image import Image
from catalog.policy.targets import ATTRIBUTES
from catalog.ports import RemoteData

METHOD = "glance-download"
SERVICE_TYPE = "image"
REFUSED = "URI does not pass filtering"
DESCRIPTION_LIMIT = 1 << 20
"""The most bytes a remote image's description may have: an image's JSON is a few KiB."""
NOT_PROPERTIES = ATTRIBUTES | {"id", "self", "file", "schema", "stores", "locations", "direct_url"}
"""What an image's JSON shows beside its custom properties: never copied as properties."""


class GlanceDownload(ImportImage):
    """The import method as the client sent it, checked by the handler in Glance's order."""

    glance_region: Any = None
    glance_image_id: Any = None
    glance_service_interface: Any = "public"
    token: str | None = Field(default=None, repr=False)
    """The caller's token: their catalog is read, and the other region asked, with it."""


@dataclass(frozen=True)
class RemoteImage:
    """The image to import, as asked."""

    region: str
    image_id: uuid.UUID
    interface: str

    @classmethod
    def asked(cls, command: GlanceDownload) -> RemoteImage:
        """Glance's 400s for the method's parameters. An interface no catalog lists fails
        the task, as on Glance (the region is not found there at that interface)."""
        region, image_id = command.glance_region, command.glance_image_id
        if not isinstance(region, str) or not region:
            raise BadRequest(f"'glance_region' needs to be set for {METHOD} import method")
        if image_id is None:
            raise BadRequest(f"'glance_image_id' needs to be set for {METHOD} import method")
        try:
            remote_id = uuid.UUID(str(image_id))
        except ValueError:
            raise BadRequest(f"Remote image id does not look like a UUID: {image_id}") from None
        interface = command.glance_service_interface
        if not isinstance(interface, str):
            raise BadRequest(f"'glance_service_interface' must be a string: {interface}")
        return cls(region, remote_id, interface)

    @property
    def missing(self) -> str:
        return f"No image found with ID {self.image_id} in region {self.region}"

    @property
    def no_image(self) -> str:
        return f"The image service of region {self.region} did not describe an image."


async def glance_download(
    command: GlanceDownload, context: CommandContext, metadata: EventMetadata
) -> None:
    await require_importable(context, metadata, command.image_id, METHOD)
    asked = RemoteImage.asked(command)
    catalog = context.regions.catalog
    if catalog is None:  # not offered where Keystone is not known (`import_methods`)
        raise BadRequest(f"Unknown import method name '{METHOD}'.")
    token = command.token
    if token is None:
        raise BadRequest(f"The {METHOD} import method needs the caller's token (X-Auth-Token).")
    targets = stores_asked(context, command.stores)
    headers = {"X-Auth-Token": token}
    undo: ImageUpdated | None = None

    async def fetch() -> Fetched:
        nonlocal undo
        endpoint = await catalog.endpoint(token, SERVICE_TYPE, asked.interface, asked.region)
        if endpoint is None:
            raise NotFound(f"{asked.interface} glance endpoint not found for region {asked.region}")
        image_url = f"{endpoint}/v2/images/{asked.image_id}"
        remote = await fetchable(context, image_url, REFUSED)
        shown = await _described(remote, image_url, headers, asked)
        size = _size_of(shown, asked)
        formats, properties = _metadata_of(shown, context.regions.copied_properties)

        def take(image: Image) -> ImageUpdated | None:
            return image.take_metadata(formats, properties, context.clock.now())

        undo = await context.images.change(command.image_id, metadata, take)
        return Fetched(remote.get(f"{image_url}/file", headers), size)

    async def put_back() -> None:
        change = undo
        if change is not None:
            await context.images.change(
                command.image_id,
                metadata,
                lambda image: image.put_back(change, context.clock.now()),
            )

    await start_fetched_import(
        context, metadata, command, targets, fetch, token=token, after_failure=put_back
    )


async def _described(
    remote: RemoteData, url: str, headers: dict[str, str], asked: RemoteImage
) -> dict[str, Any]:
    """The remote image as its image service shows it; it must be active."""
    body = bytearray()
    try:
        async for chunk in remote.get(url, headers):
            body += chunk
            if len(body) > DESCRIPTION_LIMIT:
                raise BadRequest(asked.no_image)
    except NotFound:
        raise NotFound(asked.missing) from None
    try:
        shown = json.loads(body)
    except ValueError:
        shown = None
    if not isinstance(shown, dict):
        raise BadRequest(asked.no_image)
    if shown.get("status") != "active":
        raise Conflict(f"Source image status should be active instead of {shown.get('status')}")
    return shown


def _metadata_of(
    shown: dict[str, Any], prefixes: tuple[str, ...]
) -> tuple[dict[str, str], dict[str, str]]:
    """The remote image's formats, and its properties the local image takes (by prefix)."""
    formats = {name: shown.get(name) for name in ("disk_format", "container_format")}
    properties = {
        name: value
        for name, value in shown.items()
        if name not in NOT_PROPERTIES
        and isinstance(value, str)
        and any(name.startswith(prefix) for prefix in prefixes)
    }
    return {name: value for name, value in formats.items() if isinstance(value, str)}, properties


def _size_of(shown: dict[str, Any], asked: RemoteImage) -> int:
    size = shown.get("size")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise BadRequest(
            f"Size attribute of remote image {asked.image_id} could not be determined."
        )
    return size
