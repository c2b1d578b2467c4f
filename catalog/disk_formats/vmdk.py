"""VMware VMDK: a sparse header (`KDMV`) with an embedded text descriptor, or a descriptor alone.

A descriptor alone holds no data: it only points at other files, so it is always refused. A
sparse VMDK is checked where its readers look: the descriptor at sector 1 (`vmdk_descriptor`),
and, for a stream whose header defers to a footer, the footer at its end.
"""

from __future__ import annotations

import re
import struct
from typing import NamedTuple

from catalog.disk_formats import vmdk_descriptor
from catalog.disk_formats.capture import HEAD_SIZE, MAX_REGION, Captured
from catalog.disk_formats.finding import Finding

MAGIC = b"KDMV"
SECTOR = 512
DESCRIPTOR_AT = 1
"""The sector readers take the embedded descriptor from, whatever the header says."""
_GD_AT_END = 0xFFFFFFFFFFFFFFFF
_MARKER = struct.Struct("<QII")
_FOOTER_MARKER, _END_OF_STREAM = 3, 0
_TEXT = re.compile(rb"[\x20-\x7e\t\n\r\f\v]+")
_TEXT_DESCRIPTOR = re.compile(rb"\A# Disk DescriptorFile|^[ \t]*createType[ \t]*=", re.I | re.M)


class _SparseHeader(NamedTuple):
    magic: bytes
    version: int
    flags: int
    capacity: int
    grain_size: int
    descriptor_at: int
    descriptor_sectors: int
    grain_table_entries: int
    redundant_directory_at: int
    directory_at: int

    @classmethod
    def parse(cls, raw: bytes, offset: int = 0) -> _SparseHeader:
        return cls._make(struct.unpack_from("<4sIIQQQQIQQ", raw, offset))


_HEADER_SIZE = 64


def needs(captured: Captured) -> list[tuple[int, int]]:
    header = _header(captured)
    if header is None or header.descriptor_at != DESCRIPTOR_AT:
        return []
    return [(DESCRIPTOR_AT * SECTOR, min(header.descriptor_sectors * SECTOR, MAX_REGION))]


def detect(captured: Captured) -> Finding | None:
    header = _header(captured)
    if header is not None:
        return _sparse(captured, header)
    start = _text_start(captured)
    if start is not None and _TEXT_DESCRIPTOR.search(start):
        text = start.decode("ascii", errors="replace")
        reasons = vmdk_descriptor.failures(text, embedded=False)
        return Finding("vmdk", None, (*reasons, "VMDK descriptor without data of its own"))
    return None


def _header(captured: Captured) -> _SparseHeader | None:
    raw = captured.at(0, _HEADER_SIZE)
    if raw is None or raw[:4] != MAGIC:
        return None
    return _SparseHeader.parse(raw)


def _sparse(captured: Captured, header: _SparseHeader) -> Finding:
    reasons: list[str] = []
    capacity = header.capacity
    if header.version not in (1, 2, 3):
        reasons.append(f"VMDK version {header.version} is not supported")
    if header.directory_at == _GD_AT_END:
        footer, footer_reasons = _footer(captured, header)
        reasons += footer_reasons
        capacity = footer.capacity if footer is not None else capacity
    if header.capacity == 0 or capacity == 0:
        # Readers then take the descriptor as a descriptor file, with extents anywhere.
        reasons.append("VMDK sparse header has no capacity")
    wanted = needs(captured)
    if not wanted or not header.descriptor_sectors:
        reasons.append("VMDK has no embedded descriptor at sector 1")
    else:
        raw = captured.at(*wanted[0])
        text = vmdk_descriptor.descriptor_text(raw) if raw is not None else None
        if text is None:
            reasons.append("VMDK descriptor does not end within the sectors it claims")
        else:
            reasons += vmdk_descriptor.failures(text, embedded=True)
    return Finding("vmdk", capacity * SECTOR, tuple(reasons))


def _footer(
    captured: Captured, header: _SparseHeader
) -> tuple[_SparseHeader | None, tuple[str, ...]]:
    """A stream VMDK's footer, and why it is refused: readers take the header from the footer,
    so it must agree with the one that was checked."""
    if captured.size % SECTOR:
        return None, ("VMDK stream does not end on a sector boundary",)
    raw = captured.at(captured.size - 3 * SECTOR, 3 * SECTOR)
    if raw is None:
        return None, ("VMDK stream has no footer",)
    _, marker_size, marker_type = _MARKER.unpack_from(raw, 0)
    footer = _SparseHeader.parse(raw, SECTOR)
    end_marker = _MARKER.unpack_from(raw, 2 * SECTOR)
    if (marker_size, marker_type) != (0, _FOOTER_MARKER) or footer.magic != MAGIC:
        return None, ("VMDK stream footer is invalid",)
    if end_marker != (0, 0, _END_OF_STREAM):
        return None, ("VMDK stream end-of-stream marker is invalid",)
    reasons = []
    if (footer.version, footer.descriptor_at, footer.descriptor_sectors) != (
        header.version,
        header.descriptor_at,
        header.descriptor_sectors,
    ):
        reasons.append("VMDK stream footer disagrees with its header")
    if footer.directory_at == _GD_AT_END:
        reasons.append("VMDK stream footer defers to another footer")
    return footer, tuple(reasons)


def _text_start(captured: Captured) -> bytes | None:
    """The stream's start up to its first NUL, if its first sector is plain text (as a
    descriptor file is); None otherwise."""
    start = (captured.at(0, min(captured.size, HEAD_SIZE)) or b"").split(b"\0", 1)[0]
    probe = start[:SECTOR]
    return start if probe and _TEXT.fullmatch(probe) else None
