"""ISO 9660: the primary volume descriptor at 32 KiB gives the volume's blocks and block size."""

from __future__ import annotations

import struct

from catalog.disk_formats.capture import Captured
from catalog.disk_formats.finding import Finding

DESCRIPTOR_AT = 16 * 2048


def detect(captured: Captured) -> Finding | None:
    descriptor = captured.at(DESCRIPTOR_AT, 2048)
    if descriptor is None or descriptor[1:6] != b"CD001":
        return None
    (blocks,) = struct.unpack_from("<I", descriptor, 80)
    (block_size,) = struct.unpack_from("<H", descriptor, 128)
    return Finding("iso", blocks * block_size)
