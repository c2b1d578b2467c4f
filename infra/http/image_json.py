"""An image as Glance's API shows it."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from catalog.image import stores_shown
from catalog.image_patch import STORES
from catalog.queries.images import ImageView


def timestamp(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def image_json(
    view: ImageView,
    *,
    show_locations: bool = False,
    properties: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The image's JSON; its data's URLs only if the operator chose to show them (OSSN-0065).
    `properties`: the custom properties the caller may read, if not all of them."""
    image_id = str(view.id)
    body: dict[str, Any] = dict(view.properties if properties is None else properties)
    # `stores` tells where the data is; a custom property of that name (PATCH once took one)
    # must not pretend otherwise.
    body.pop(STORES, None)
    body.update(
        name=view.name,
        disk_format=view.disk_format,
        container_format=view.container_format,
        visibility=view.visibility,
        size=view.size,
        virtual_size=view.virtual_size,
        status=view.status,
        checksum=view.checksum,
        protected=view.protected,
        min_ram=view.min_ram,
        min_disk=view.min_disk,
        owner=view.owner,
        os_hidden=view.os_hidden,
        os_hash_algo=view.os_hash_algo,
        os_hash_value=view.os_hash_value,
        id=image_id,
        created_at=timestamp(view.created_at),
        updated_at=timestamp(view.updated_at),
        tags=list(view.tags),
        self=f"/v2/images/{image_id}",
        file=f"/v2/images/{image_id}/file",
        schema="/v2/schemas/image",
    )
    if stores := stores_shown(loc["store"] for loc in view.locations):
        body[STORES] = stores
    if show_locations:
        body["locations"] = [
            {"url": loc["url"], "metadata": {"store": loc["store"]}} for loc in view.locations
        ]
        if view.locations:
            body["direct_url"] = view.locations[0]["url"]
    return body
