"""Hyper-V VHDX: `vhdxfile`, a region table at 192 KiB pointing to the metadata region, whose
table points to the virtual disk size item. Each is read as the stream reaches it."""

from __future__ import annotations

import struct
import uuid

from catalog.disk_formats.capture import Captured
from catalog.disk_formats.finding import Finding

MAGIC = b"vhdxfile"
REGION_TABLE_AT = 192 * 1024
_METADATA_REGION = uuid.UUID("8b7ca206-4790-4b9a-b8fe-575f050f886e")
_VIRTUAL_DISK_SIZE = uuid.UUID("2fa54224-cd1b-4876-b211-5dbed83bf4b8")
_TABLE_SIZE = 64 * 1024


def needs(captured: Captured) -> list[tuple[int, int]]:
    head = captured.at(0, 8)
    if head != MAGIC:
        return []
    wanted = [(REGION_TABLE_AT, _TABLE_SIZE)]
    metadata = _metadata_region(captured)
    if metadata is not None:
        wanted.append((metadata, _TABLE_SIZE))
        item = _size_item(captured, metadata)
        if item is not None:
            wanted.append((item, 8))
    return wanted


def detect(captured: Captured) -> Finding | None:
    if captured.at(0, 8) != MAGIC:
        return None
    metadata = _metadata_region(captured)
    item = _size_item(captured, metadata) if metadata is not None else None
    value = captured.at(item, 8) if item is not None else None
    virtual_size = struct.unpack("<Q", value)[0] if value is not None else None
    return Finding("vhdx", virtual_size)


def _metadata_region(captured: Captured) -> int | None:
    table = captured.at(REGION_TABLE_AT, 16)
    if table is None or table[:4] != b"regi":
        return None
    (count,) = struct.unpack_from("<I", table, 8)
    for index in range(min(count, 2047)):
        entry = captured.at(REGION_TABLE_AT + 16 + 32 * index, 32)
        if entry is None:
            return None
        if uuid.UUID(bytes_le=entry[:16]) == _METADATA_REGION:
            return int(struct.unpack_from("<Q", entry, 16)[0])
    return None


def _size_item(captured: Captured, metadata: int) -> int | None:
    table = captured.at(metadata, 32)
    if table is None or table[:8] != b"metadata":
        return None
    (count,) = struct.unpack_from("<H", table, 10)
    for index in range(min(count, 2047)):
        entry = captured.at(metadata + 32 + 32 * index, 32)
        if entry is None:
            return None
        if uuid.UUID(bytes_le=entry[:16]) == _VIRTUAL_DISK_SIZE:
            return metadata + int(struct.unpack_from("<I", entry, 16)[0])
    return None
