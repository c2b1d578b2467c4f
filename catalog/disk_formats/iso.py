"""ISO 9660: a set of volume descriptors from sector 16; the primary one gives the volume's
blocks and block size.

The primary descriptor comes first in every image seen so far, but the standard lets a boot
record or another descriptor come before it, so the set is walked to its terminator.
"""

from __future__ import annotations

import struct

from catalog.disk_formats.capture import HEAD_SIZE, Captured
from catalog.disk_formats.finding import Finding

SECTOR = 2048
FIRST_DESCRIPTOR = 16
_IDENTIFIER = b"CD001"
_PRIMARY, _TERMINATOR = 1, 255


def detect(captured: Captured) -> Finding | None:
    first = captured.at(FIRST_DESCRIPTOR * SECTOR, SECTOR)
    if first is None or first[1:6] != _IDENTIFIER:
        return None
    return Finding("iso", _volume_size(captured))


def _volume_size(captured: Captured) -> int | None:
    # The head holds sectors 16 to 31: room for any descriptor set a writer makes.
    for sector in range(FIRST_DESCRIPTOR, HEAD_SIZE // SECTOR):
        descriptor = captured.at(sector * SECTOR, SECTOR)
        if descriptor is None or descriptor[1:6] != _IDENTIFIER:
            return None
        if descriptor[0] == _TERMINATOR:
            return None
        if descriptor[0] == _PRIMARY:
            (blocks,) = struct.unpack_from("<I", descriptor, 80)
            (block_size,) = struct.unpack_from("<H", descriptor, 128)
            return int(blocks * block_size)
    return None
