"""The rules a VMDK's text descriptor must follow to be accepted.

The descriptor names other files: extents holding the data, and a parent image. A converter or
hypervisor opening the VMDK opens those files on its host (CVE-2022-47951), so only the
self-contained kinds are accepted, every line must be one a VMDK has, no extent may name a path
and no parent may be named at all.
"""

from __future__ import annotations

import re

ALLOWED_TYPES = ("monolithicSparse", "streamOptimized")
"""The kinds whose data is inside the VMDK itself."""
_EXTENT = re.compile(r'(RW|RDONLY|NOACCESS)\s+\d+\s+(\w+)(?:\s+"([^"]*)"(?:\s+\d+)?)?')
_KEY_VALUE = re.compile(r'([A-Za-z][\w.]*)\s*=\s*("[^"]*"|\S+)')


def descriptor_text(raw: bytes) -> str | None:
    """An embedded descriptor's text: up to its first NUL, as readers take it; None if `raw`
    has none, since a reader would then read on past what was checked."""
    end = raw.find(b"\0")
    return None if end < 0 else raw[:end].decode("ascii", errors="replace")


def failures(text: str, *, embedded: bool) -> tuple[str, ...]:
    """Why the descriptor `text` is unsafe; empty if it is not.

    `embedded`: the descriptor sits in a sparse VMDK, whose only extent is the file itself.
    """
    found: list[str] = []
    create_types: list[str] = []
    extents = 0
    for line in (line.strip() for line in text.splitlines()):
        if not line or line.startswith("#") or line.startswith("ddb."):
            continue
        extent = _EXTENT.fullmatch(line)
        if extent:
            extents += 1
            kind, name = extent[2], extent[3] or ""
            if "/" in name:
                found.append(f"VMDK extent names a path: {name[:80]!r}")
            if embedded and kind != "SPARSE":
                found.append(f"VMDK extent of type {kind[:20]!r} in a sparse VMDK")
            continue
        pair = _KEY_VALUE.fullmatch(line)
        if pair:
            if pair[1] == "createType":
                create_types.append(pair[2].strip('"'))
            continue
        found.append(f"VMDK descriptor has an unexpected line: {line[:80]!r}")
    if not create_types:
        found.append("VMDK descriptor has no createType")
    elif len(create_types) > 1:
        found.append("VMDK descriptor gives createType more than once")
    elif create_types[0] not in ALLOWED_TYPES:
        found.append(f"VMDK createType {create_types[0][:40]!r} is not allowed")
    if not extents:
        found.append("VMDK descriptor has no extents")
    # Readers look for the parent's name anywhere in the text, comments included.
    if "parentfilenamehint" in text.lower():
        found.append("VMDK descriptor names a parent image")
    return tuple(found)
