"""Disk image formats: what an upload's bytes really are, and whether they are safe.

Every upload of a `bare` image is inspected as it streams (`inspected`), and `accept` decides
against its claimed `disk_format` (Glance's rules, format match required).
"""

from catalog.disk_formats.capture import MAX_BUFFERED
from catalog.disk_formats.inspector import FormatInspector, Inspection, inspected
from catalog.disk_formats.rules import DiskFormatRejected, accept

__all__ = [
    "MAX_BUFFERED",
    "DiskFormatRejected",
    "FormatInspector",
    "Inspection",
    "accept",
    "inspected",
]
