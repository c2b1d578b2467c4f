"""A raw disk with a GUID partition table: a protective MBR, then `EFI PART` at LBA 1.

The MBR must be the protective one the UEFI specification defines: its first record a 0xEE
partition starting at LBA 1 (CHS 0/0/2), the other three empty. Tools that read the MBR and
tools that read the GPT would otherwise see different partitions on the same disk.
"""

from __future__ import annotations

import struct

from catalog.disk_formats.capture import Captured
from catalog.disk_formats.finding import Finding

_SIGNATURE_AT = 510
_RECORDS_AT = 446
_RECORD = struct.Struct("<B3sB3sII")
_PROTECTIVE = 0xEE
_BOOT_INDICATORS = (0x00, 0x80)
_START_CHS = b"\x00\x02\x00"


def detect(captured: Captured) -> Finding | None:
    head = captured.at(0, 1024)
    if head is None or head[_SIGNATURE_AT:512] != b"\x55\xaa" or head[512:520] != b"EFI PART":
        return None
    return Finding("gpt", captured.size, _mbr_failures(head))


def _mbr_failures(head: bytes) -> tuple[str, ...]:
    records = [_RECORD.unpack_from(head, _RECORDS_AT + 16 * i) for i in range(4)]
    failures = [
        f"MBR partition {i + 1} has an invalid boot indicator"
        for i, record in enumerate(records)
        if record[0] not in _BOOT_INDICATORS
    ]
    _, start_chs, kind, _, start_lba, _ = records[0]
    if kind != _PROTECTIVE:
        failures.append("GPT disk has no protective MBR partition first")
    else:
        if start_chs != _START_CHS:
            failures.append("GPT protective MBR partition does not start at CHS 0/0/2")
        if start_lba != 1:
            failures.append("GPT protective MBR partition does not start at LBA 1")
    if any(record[2] for record in records[1:]):
        failures.append("GPT protective MBR defines other partitions")
    return tuple(failures)
