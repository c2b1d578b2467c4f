"""One answer from what every format check found: the layouts that nest, and the ambiguity
that is refused."""

from __future__ import annotations

from dataclasses import replace

from catalog.disk_formats.finding import Finding

_RAW_DISK_LAYOUTS = frozenset({"gpt", "iso"})
"""What a raw disk's own bytes may be laid out as."""


def settle(found: list[Finding]) -> Finding | None:
    """The stream's one finding (None: it is raw), or one refusing data that is two formats."""
    formats = {f.format for f in found}
    if {"iso", "gpt"} <= formats:
        # A hybrid ISO, bootable as a CD and as a disk, has a GPT in front of its volume.
        found = [f for f in found if f.format != "gpt"]
    if len(found) <= 1:
        return found[0] if found else None
    outer = [f for f in found if f.holds_raw_disk]
    inner = [f for f in found if not f.holds_raw_disk]
    if len(outer) == 1 and {f.format for f in inner} <= _RAW_DISK_LAYOUTS:
        # A fixed VHD of a partitioned disk (a cloud's usual VHD): the GPT is its guest's disk,
        # which keeps the checks it would have as a raw disk.
        failures = outer[0].safety_failures + tuple(r for f in inner for r in f.safety_failures)
        return replace(outer[0], safety_failures=failures)
    names = ", ".join(sorted(formats))
    return Finding(found[0].format, None, (f"data matches several formats: {names}",))
