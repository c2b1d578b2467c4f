"""Bytes that several images may hold: when they may be removed, and who may attach them.

Images can share bytes: a cloud service attaches to an image a location that another image
already has (`POST /v2/images/{id}/locations`). Two rules keep each image's data its own
owner's business, decided here from the location holders view
(`catalog/projections/location_holders.py`):

- `release_data`: bytes an image lets go of (deleted, scrubbed, one store's copy removed, an
  upload, copy or staging that failed or was abandoned) are removed only if no other image
  holds them. Every command that removes bytes does it through here.
- `may_attach`: a location in one of the catalog's own stores that holds another image's
  data may be attached only by a caller who may download that image. That includes the
  location where an image's data will be written: stores write an image's bytes under its id
  (`location_for(str(image_id))`), so a location whose key is an image id belongs to that
  image, even before its upload, even if no such image exists yet (ids can be chosen by
  clients), and still after its deletion (leftover bytes are its own).
"""

from __future__ import annotations

import uuid

import structlog

from catalog.commands.access import image_access
from catalog.commands.context import CommandContext
from catalog.errors import NotFound
from catalog.identity import Actor
from catalog.image import ImageStatus
from catalog.ports import DataStore

log = structlog.get_logger(__name__)


def as_recorded(store: DataStore, location: str) -> str:
    """`location` as the store spells it, which is how the catalog records its locations (a
    file URL may also be written with `localhost` or escapes: the same bytes)."""
    return store.location_for(store.key_of(location))


async def release_data(
    context: CommandContext, image_id: uuid.UUID, location: str, store_name: str | None = None
) -> bool:
    """Remove the bytes at `location` that image `image_id` lets go of, unless another image
    still holds them; whether they were removed. Called once the image's letting go is
    recorded, or for bytes it alone was writing. `store_name`: the store holding them, if
    known (else the one whose location it is)."""
    if store_name is None:
        store_name, store = context.stores.for_location(location)
    else:
        store = context.stores.named(store_name)
    if store_name not in context.stores.writable_names:
        return False  # a read-only store's bytes are not the catalog's to remove
    others = await context.holders.of(as_recorded(store, location)) - {image_id}
    if others:
        log.info(
            "image_data_kept",
            image_id=str(image_id),
            location=location,
            held_by=sorted(map(str, others)),
        )
        return False
    await store.delete(location)
    return True


async def may_attach(
    context: CommandContext, actor: Actor, image_id: uuid.UUID, store: DataStore, location: str
) -> bool:
    """Whether the caller may point image `image_id` at `location`, in one of the catalog's
    own stores: only if they may download every other image whose data is, or will be,
    there. Admins may."""
    if context.policy.is_admin(actor):
        return True
    key = store.key_of(location)
    others = set(await context.holders.of(store.location_for(key)))
    written_for = _image_id_in(key)
    if written_for is not None:
        others.add(written_for)
    others.discard(image_id)
    for other_id in others:
        other = await context.images.load(other_id)
        try:
            access = image_access(context, other, actor)
        except NotFound:
            return False
        if not access.may_download(deactivated=other.status is ImageStatus.DEACTIVATED):
            return False
    return True


def _image_id_in(key: str) -> uuid.UUID | None:
    """The image whose bytes a store writes under `key`, if the key is an image id (in any
    spelling: a store on a case-insensitive filesystem finds the same file)."""
    try:
        return uuid.UUID(key)
    except ValueError:
        return None
