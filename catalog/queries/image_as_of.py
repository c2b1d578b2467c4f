"""An image as it was at a time in the past (`GET /v2/images/{id}?as_of=`), rebuilt from the log.

The state at a time is the one the image's events recorded at or before it leave: the longest
prefix of its stream whose times are not later. A prefix, not every event up to that time,
so that servers whose clocks disagree a little can never make up a state that never existed.
"""

from __future__ import annotations

import itertools
import uuid
from datetime import datetime

from catalog.commands.repository import rebuild
from catalog.identity import Actor
from catalog.image import ImageStatus
from catalog.policy import Policy
from catalog.ports import AuditLog
from catalog.queries.image_history import missing
from catalog.queries.images import ImageView, view_of_image


async def image_as_of(
    log: AuditLog, image_id: uuid.UUID, actor: Actor, as_of: datetime, policy: Policy
) -> ImageView:
    """The image at `as_of`, if it existed then and the caller could have seen it then (by
    Glance's rules on that state); a deleted image's past only for those who may audit it
    (`get_image_history`). Otherwise 404."""
    stream = await log.load_stream(image_id)
    now = rebuild(image_id, stream)
    if not now.exists or (now.status is ImageStatus.DELETED and not policy.may_audit(actor, now)):
        raise missing(image_id)
    then = rebuild(image_id, list(itertools.takewhile(lambda r: r.occurred_at <= as_of, stream)))
    if not then.exists or then.status is ImageStatus.DELETED:
        raise missing(image_id)
    member = then.is_member(actor.project_id)
    access = policy.image(actor, then, is_member=member, missing=missing(image_id).message)
    access.enforce("get_image")
    return view_of_image(then)
