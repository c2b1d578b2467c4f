"""Whether data may be stored under the disk format its image claims."""

from __future__ import annotations

from catalog.disk_formats.inspector import Inspection
from catalog.errors import UnsupportedMediaType

NOT_INSPECTABLE = frozenset({"ami", "ari", "aki", "ploop"})
"""Disk formats no check recognises: their data can only be seen as raw."""


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
    `DiskFormatRejected`.

    Unsafe data is refused whatever it claims to be. Data claimed as `raw` is accepted as it is,
    since a raw disk may hold anything (a hypervisor never interprets it); its virtual size is
    its size. A GPT disk is a raw disk.
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
    if claimed_disk_format in NOT_INSPECTABLE and detected in ("raw", "gpt"):
        return None
    raise DiskFormatRejected(
        f"Image disk_format {claimed_disk_format} does not match stream data {detected}"
    )
