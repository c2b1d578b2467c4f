"""Virtual PC / Hyper-V VHD: a 512-byte `conectix` footer at the end (fixed disks), copied to
the start (dynamic and differencing disks); it holds the virtual size."""

from __future__ import annotations

import struct

from catalog.disk_formats.capture import Captured
from catalog.disk_formats.finding import Finding

MAGIC = b"conectix"
FOOTER_SIZE = 512
_DIFFERENCING = 4


def detect(captured: Captured) -> Finding | None:
    footer = captured.at(0, FOOTER_SIZE)
    fixed = footer is None or footer[:8] != MAGIC
    if fixed:
        # A fixed disk has no copy at the start: its footer is its last sector.
        footer = captured.at(captured.size - FOOTER_SIZE, FOOTER_SIZE)
    if footer is None or footer[:8] != MAGIC:
        return None
    (current_size,) = struct.unpack_from(">Q", footer, 48)
    (disk_type,) = struct.unpack_from(">I", footer, 60)
    failures = (
        ("VHD differencing disk refers to a parent image",) if disk_type == _DIFFERENCING else ()
    )
    return Finding("vhd", current_size, failures, holds_raw_disk=fixed)
