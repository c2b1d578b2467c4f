"""QEMU copy-on-write v2/v3: the header gives the virtual size and what the image refers to.

A backing file or an external data file makes a consumer (qemu-img, a hypervisor) open another
file named by the image: a way to read the host's files (CVE-2024-32498).
"""

from __future__ import annotations

import struct

from catalog.disk_formats.capture import Captured
from catalog.disk_formats.finding import Finding

MAGIC = b"QFI\xfb"
_EXTERNAL_DATA_FILE = 1 << 2
# dirty, corrupt, external data file, compression type, extended L2 entries
_KNOWN_INCOMPATIBLE = 0b11111


def detect(captured: Captured) -> Finding | None:
    header = captured.at(0, 104)
    if header is None or header[:4] != MAGIC:
        return None
    version, backing_offset, backing_size = struct.unpack_from(">IQI", header, 4)
    (virtual_size,) = struct.unpack_from(">Q", header, 24)
    failures = []
    if version not in (2, 3):
        failures.append(f"qcow2 version {version} is not supported")
    if backing_offset or backing_size:
        failures.append("qcow2 image has a backing file")
    if version == 3:
        (incompatible,) = struct.unpack_from(">Q", header, 72)
        if incompatible & _EXTERNAL_DATA_FILE:
            failures.append("qcow2 image has an external data file")
        if incompatible & ~_KNOWN_INCOMPATIBLE:
            failures.append("qcow2 image has unknown incompatible features")
    return Finding("qcow2", virtual_size, tuple(failures))
