"""Whether data may be stored under the disk format its image claims."""

from __future__ import annotations

from catalog.disk_formats.inspector import FOUND_FORMATS, Inspection
from catalog.errors import UnsupportedMediaType


class DiskFormatRejected(UnsupportedMediaType):
    """The data is unsafe, or is not what its disk format claims (415, as Glance)."""

    def __init__(self, detail: str) -> None:
        super().__init__(
            "The request media type application/octet-stream is not supported by this server.",
            detail=detail,
        )

    def __str__(self) -> str:
        return self.detail


def accept(claimed_disk_format: str, inspection: Inspection) -> int | None:
    """The virtual size to record for data claimed as `claimed_disk_format`, or
    `DiskFormatRejected`:

    - unsafe data is refused whatever it claims to be;
    - data that is what it claims: its virtual size (None when its format does not tell);
    - data claimed `raw`: its size, whatever it is, since a raw disk may hold anything and is
      never interpreted (Glance warns and does the same);
    - a disk format no check recognises (ami, ari, aki, ploop): None, if the data is raw, or a
      GPT disk, which is a raw disk with a partition table;
    - anything else is refused with Glance's message.
    """
    if inspection.safety_failures:
        raise DiskFormatRejected(
            "Image failed safety checks: " + "; ".join(inspection.safety_failures)
        )
    detected = inspection.format
    if detected == claimed_disk_format:
        return inspection.virtual_size
    if claimed_disk_format == "raw":
        return inspection.size
    if claimed_disk_format not in FOUND_FORMATS and detected in ("raw", "gpt"):
        return None
    raise DiskFormatRejected(
        f"Image disk_format {claimed_disk_format} does not match stream data {detected}"
    )
