"""Account for image bytes sent to a client (Glance's `image.send`).

Each transfer is its own one-event stream: a download is a fact about who read what, not a
change to the image, so many downloads of one image never contend for the image's stream.
"""

from __future__ import annotations

import uuid

from catalog.commands.base import Command
from catalog.commands.context import CommandContext
from catalog.events import EventMetadata, ImageDataSent


class RecordDataSent(Command):
    sent: ImageDataSent


async def record_data_sent(
    command: RecordDataSent, context: CommandContext, metadata: EventMetadata
) -> None:
    await context.images.record_fact(uuid.uuid4(), command.sent, metadata, context.clock.now())
