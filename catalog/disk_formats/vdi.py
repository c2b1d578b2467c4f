"""VirtualBox VDI: a signature at 0x40 and the disk size in the header."""

from __future__ import annotations

import struct

from catalog.disk_formats.capture import Captured
from catalog.disk_formats.finding import Finding

SIGNATURE = 0xBEDA107F


def detect(captured: Captured) -> Finding | None:
    header = captured.at(0, 0x180)
    if header is None or struct.unpack_from("<I", header, 0x40)[0] != SIGNATURE:
        return None
    (disk_size,) = struct.unpack_from("<Q", header, 0x170)
    return Finding("vdi", disk_size)
