"""QEMU enhanced disk (QED): recognised only to be refused.

No cloud runs QED images, and a QED header may name a backing file its readers would open. As
in Glance, a QED image is refused whatever it claims to be, raw included.
"""

from __future__ import annotations

import struct

from catalog.disk_formats.capture import Captured
from catalog.disk_formats.finding import Finding

MAGIC = b"QED\x00"


def detect(captured: Captured) -> Finding | None:
    header = captured.at(0, 64)
    if header is None or header[:4] != MAGIC:
        return None
    (image_size,) = struct.unpack_from("<Q", header, 48)
    return Finding("qed", image_size, ("QED images are not accepted",))
