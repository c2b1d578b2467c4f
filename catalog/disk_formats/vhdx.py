"""Hyper-V VHDX: `vhdxfile`, a region table at 192 KiB pointing to the metadata region, whose
table points to the items read here (the virtual disk size, the file parameters). Each is
kept as the stream reaches it, wherever the tables put it (within the capture's reach)."""

from __future__ import annotations

import struct
import uuid

from catalog.disk_formats.capture import Captured
from catalog.disk_formats.finding import Finding

MAGIC = b"vhdxfile"
REGION_TABLE_AT = 192 * 1024
_TABLE_SIZE = 64 * 1024
_MAX_ENTRIES = 2047
_METADATA_REGION = uuid.UUID("8b7ca206-4790-4b9a-b8fe-575f050f886e")
_VIRTUAL_DISK_SIZE = uuid.UUID("2fa54224-cd1b-4876-b211-5dbed83bf4b8")
_FILE_PARAMETERS = uuid.UUID("caa16737-fa36-4d43-b3b6-33f0aa44e76b")
_ITEMS = (_VIRTUAL_DISK_SIZE, _FILE_PARAMETERS)
_HAS_PARENT = 1 << 1


def needs(captured: Captured) -> list[tuple[int, int]]:
    if captured.at(0, 8) != MAGIC:
        return []
    wanted = [(REGION_TABLE_AT, _TABLE_SIZE)]
    metadata = _metadata_region(captured)
    if metadata is not None:
        wanted.append((metadata, _TABLE_SIZE))
        items = (_item(captured, metadata, item) for item in _ITEMS)
        wanted += [(at, 8) for at in items if at is not None]
    return wanted


def detect(captured: Captured) -> Finding | None:
    if captured.at(0, 8) != MAGIC:
        return None
    metadata = _metadata_region(captured)
    size = parameters = None
    if metadata is not None:
        size = _item_value(captured, metadata, _VIRTUAL_DISK_SIZE)
        parameters = _item_value(captured, metadata, _FILE_PARAMETERS)
    # The file parameters: a 4-byte block size, then 4 bytes of flags.
    has_parent = parameters is not None and bool(parameters >> 32 & _HAS_PARENT)
    failures = ("VHDX differencing disk refers to a parent image",) if has_parent else ()
    return Finding("vhdx", size, failures)


def _metadata_region(captured: Captured) -> int | None:
    table = captured.at(REGION_TABLE_AT, 16)
    if table is None or table[:4] != b"regi":
        return None
    (count,) = struct.unpack_from("<I", table, 8)
    for index in range(min(count, _MAX_ENTRIES)):
        entry = captured.at(REGION_TABLE_AT + 16 + 32 * index, 32)
        if entry is None:
            return None
        if uuid.UUID(bytes_le=entry[:16]) == _METADATA_REGION:
            return int(struct.unpack_from("<Q", entry, 16)[0])
    return None


def _item(captured: Captured, metadata: int, item: uuid.UUID) -> int | None:
    """Where the metadata `item` lies in the stream, if the metadata table says."""
    table = captured.at(metadata, 32)
    if table is None or table[:8] != b"metadata":
        return None
    (count,) = struct.unpack_from("<H", table, 10)
    for index in range(min(count, _MAX_ENTRIES)):
        entry = captured.at(metadata + 32 + 32 * index, 32)
        if entry is None:
            return None
        if uuid.UUID(bytes_le=entry[:16]) == item:
            return metadata + int(struct.unpack_from("<I", entry, 16)[0])
    return None


def _item_value(captured: Captured, metadata: int, item: uuid.UUID) -> int | None:
    """The metadata `item`'s first 8 bytes, as a little-endian number, if they were kept."""
    at = _item(captured, metadata, item)
    value = captured.at(at, 8) if at is not None else None
    return int.from_bytes(value, "little") if value is not None else None
