"""`inject_image_metadata`: properties operators have every import set on its image (Glance's
`[inject_metadata_properties] inject`), unless the caller has one of the roles they exempt
(`ignore_user_roles`, admin by default). Recorded as a change of the image by the caller's
import request, so the history shows which request brought them."""

from __future__ import annotations

from catalog.commands.import_plugins.base import ImportRun
from catalog.image import Image


async def inject_metadata(run: ImportRun) -> None:
    options = run.context.import_plugins
    if not options.inject or options.ignore_user_roles.intersection(run.metadata.actor.roles):
        return

    def inject(image: Image) -> None:
        image.inject_properties(options.inject, run.context.clock.now())

    await run.context.images.change(run.image_id, run.metadata, inject)
