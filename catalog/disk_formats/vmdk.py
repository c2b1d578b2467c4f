"""VMware VMDK: a sparse header (`KDMV`) with an embedded text descriptor, or a descriptor alone.

The descriptor names extent files. A flat or split VMDK names files that a converter would
open on the host (CVE-2022-47951), so only the self-contained kinds (monolithicSparse,
streamOptimized) are accepted, every descriptor line must be one a VMDK has, and no extent may
name a path.
"""

from __future__ import annotations

import re
import struct

from catalog.disk_formats.capture import MAX_REGION, Captured
from catalog.disk_formats.finding import Finding

MAGIC = b"KDMV"
SECTOR = 512
ALLOWED_TYPES = ("monolithicSparse", "streamOptimized")
_TEXT_START = b"# Disk DescriptorFile"
_EXTENT = re.compile(r'(RW|RDONLY|NOACCESS)\s+\d+\s+\w+(?:\s+"([^"]*)"(?:\s+\d+)?)?')
_KEY_VALUE = re.compile(r'[A-Za-z][\w.]*\s*=\s*("[^"]*"|\S+)')


def needs(captured: Captured) -> list[tuple[int, int]]:
    located = _descriptor_location(captured)
    return [located] if located else []


def detect(captured: Captured) -> Finding | None:
    header = captured.at(0, 64)
    if header is None:
        return None
    if header[:4] == MAGIC:
        (capacity,) = struct.unpack_from("<Q", header, 12)
        located = _descriptor_location(captured)
        if located is None:
            return Finding("vmdk", capacity * SECTOR, ("VMDK has no embedded descriptor",))
        text = captured.at(*located)
        if text is None:
            return Finding("vmdk", capacity * SECTOR, ("VMDK descriptor could not be read",))
        return Finding("vmdk", capacity * SECTOR, _descriptor_failures(text))
    if header.startswith(_TEXT_START):
        # A descriptor with no data of its own: it can only point at other files.
        text = captured.at(0, min(captured.size, MAX_REGION)) or b""
        failures = _descriptor_failures(text) or ("VMDK descriptor without its data",)
        return Finding("vmdk", None, failures)
    return None


def _descriptor_location(captured: Captured) -> tuple[int, int] | None:
    header = captured.at(0, 64)
    if header is None or header[:4] != MAGIC:
        return None
    offset, size = struct.unpack_from("<QQ", header, 28)
    if not offset or not size:
        return None
    return offset * SECTOR, min(size * SECTOR, MAX_REGION)


def _descriptor_failures(raw: bytes) -> tuple[str, ...]:
    text = raw.split(b"\0", 1)[0].decode("ascii", errors="replace")
    failures: list[str] = []
    create_type = None
    extents = 0
    for line in (line.strip() for line in text.splitlines()):
        if not line or line.startswith("#") or line.startswith("ddb."):
            continue
        extent = _EXTENT.fullmatch(line)
        if extent:
            extents += 1
            if "/" in (extent[2] or ""):
                failures.append(f"VMDK extent names a path: {extent[2]!r}")
            continue
        if _KEY_VALUE.fullmatch(line):
            key, _, value = line.partition("=")
            if key.strip() == "createType":
                create_type = value.strip().strip('"')
            continue
        failures.append(f"VMDK descriptor has an unexpected line: {line[:80]!r}")
    if create_type not in ALLOWED_TYPES:
        failures.append(f"VMDK createType {create_type!r} is not allowed")
    if not extents:
        failures.append("VMDK descriptor has no extents")
    return tuple(failures)
