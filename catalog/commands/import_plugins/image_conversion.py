"""`image_conversion`: every import's bytes converted to the disk format operators chose
(Glance's `[image_conversion] output_format`), e.g. qcow2 to raw for a Ceph-style store.

The converter (`DiskConverter`, `qemu-img` in production) first checks the bytes are a safe
disk of the format the image claims (no backing file, no external data file) and refuses
them otherwise, even when they are already in the format asked, as Glance does. The stores are
then written with the converted bytes, and the image becomes active with their size, digests,
virtual size and format. The converted bytes are held aside until the import ends; a refusal
fails the import, and the image returns to `queued` without any of its bytes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

from catalog.commands.context import CommandContext
from catalog.commands.import_pipeline import DataSource
from catalog.commands.import_plugins.base import ImportRun
from catalog.errors import ServiceUnavailable
from catalog.ports import ConvertedDisk

NOT_CONVERTED = frozenset({"iso"})
"""Disk formats stored as they are, as Glance stores them: an ISO is not a disk to convert."""


@dataclass(frozen=True)
class ConvertedSource(DataSource):
    """The converted bytes, read from where the converter holds them; `store` and `location`
    still name the bytes they were converted from."""

    disk: ConvertedDisk

    def read(self, context: CommandContext) -> AsyncIterator[bytes]:
        return self.disk.read()

    def already_at(self, store: str, location: str) -> bool:
        return False


async def convert_image(run: ImportRun) -> None:
    options = run.context.import_plugins
    if options.converter is None:
        raise ServiceUnavailable("No image converter is configured for image_conversion.")
    image = await run.context.images.load(run.image_id)
    assert image.disk_format is not None  # an import needs it (`Image.require_staged`)
    if image.disk_format in NOT_CONVERTED:
        return
    source = run.source
    converting = options.converter.convert(
        source.read(run.context), image.disk_format, options.output_format
    )
    if image.disk_format == options.output_format:
        async with converting:  # checked only: the image stays as it was staged, as on Glance
            return
    disk = await run.held.enter_async_context(converting)
    run.converted = disk
    run.source = ConvertedSource(
        source.store, source.location, disk.size, disk.checksum, disk.os_hash_value, disk
    )
