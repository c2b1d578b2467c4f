"""A raw disk with a GUID partition table: a protective MBR, then `EFI PART` at LBA 1.

The MBR must protect the GPT as the specification says (a 0xEE partition from LBA 1): a
malformed one is how some partitioning tools get confused about where partitions are.
"""

from __future__ import annotations

import struct

from catalog.disk_formats.capture import Captured
from catalog.disk_formats.finding import Finding

_PROTECTIVE = 0xEE


def detect(captured: Captured) -> Finding | None:
    head = captured.at(0, 1024)
    if head is None or head[510:512] != b"\x55\xaa" or head[512:520] != b"EFI PART":
        return None
    entries = [head[446 + 16 * i : 446 + 16 * (i + 1)] for i in range(4)]
    protective = [e for e in entries if e[4] == _PROTECTIVE]
    failures = []
    if not protective:
        failures.append("GPT disk has no protective MBR partition")
    elif struct.unpack_from("<I", protective[0], 8)[0] != 1:
        failures.append("GPT protective MBR partition does not start at LBA 1")
    return Finding("gpt", captured.size, tuple(failures))
