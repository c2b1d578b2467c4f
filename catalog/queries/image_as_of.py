"""An image as it was at a time in the past (`GET /v2/images/{id}?as_of=`), rebuilt from the log.

The state at a time is the one the image's events recorded at or before it leave: the longest
prefix of its stream whose times are not later. A prefix, not every event up to that time,
so that servers whose clocks disagree a little can never make up a state that never existed.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from catalog.commands.repository import ImageRepository
from catalog.identity import Actor
from catalog.image import ImageStatus
from catalog.policy import Policy
from catalog.queries.image_history import missing
from catalog.queries.images import ImageView, view_of_image


async def image_as_of(
    images: ImageRepository, image_id: uuid.UUID, actor: Actor, as_of: datetime, policy: Policy
) -> ImageView:
    """The image at `as_of`, if it existed then and the caller could have seen it then (by
    Glance's rules on that state); a deleted image's past only for those who may audit it
    (`get_image_history`). Otherwise 404. Both states are read from the latest snapshot that
    fits them (`Repository.load_at`), so the cost does not grow with the image's history."""
    now = await images.load(image_id)
    if not now.exists or (now.status is ImageStatus.DELETED and not policy.may_audit(actor, now)):
        raise missing(image_id)
    then = await images.load_at(image_id, as_of)
    if not then.exists or then.status is ImageStatus.DELETED:
        raise missing(image_id)
    member = then.is_member(actor.project_id)
    access = policy.image(actor, then, is_member=member, missing=missing(image_id).message)
    access.enforce("get_image")
    return view_of_image(then)
