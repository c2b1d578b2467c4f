"""The C allocator's handling of freed memory, for a server that streams image data.

An upload's bytes arrive as a stream of short-lived buffers of a few hundred KiB (a socket
read, the HTTP parser's piece of the body) that are freed as soon as the store has copied them.
With glibc's default settings, freed memory at the top of the heap beyond 128 KiB to 64 MiB (a
threshold that moves with what was freed lately) goes back to the kernel at once, so the next
buffers land on fresh pages and every 4 KiB of the body costs a page fault, the kernel zeroing
the page, and later the trim itself. Measured on chunked uploads of 256 MiB: 28,000 faults
each (over 40 % of the pages received) before these settings, 2,000 with them, and a tenth
to a quarter less of the event loop's CPU (docs/performance.md, "Upload CPU per MiB").

Fixed thresholds keep that memory for the next buffers: allocations up to `MMAP_THRESHOLD`
come from the heap, and up to `TRIM_THRESHOLD` of free memory stays mapped. The cost is that
much resident memory held after a burst, never more than the burst itself used.
"""

from __future__ import annotations

import ctypes

import structlog

log = structlog.get_logger(__name__)

MiB = 1 << 20

MMAP_THRESHOLD = 16 * MiB
"""Allocations below this come from the heap (its freed memory is reused) rather than pages
of their own that go back to the kernel on free (glibc's default: 128 KiB, raised on the fly
up to 32 MiB as such allocations are freed)."""
TRIM_THRESHOLD = 32 * MiB
"""Free memory at the heap's top beyond this goes back to the kernel."""

# glibc's mallopt parameters (malloc.h).
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3


def keep_freed_memory() -> bool:
    """Set the thresholds above in this process's C allocator; False (and nothing changed)
    where the C library has no `mallopt` (glibc's), as with musl."""
    mallopt = getattr(ctypes.CDLL(None), "mallopt", None)  # the C library the process uses
    if mallopt is None:
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    done = bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
        mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    )
    if not done:
        log.warning("allocator_settings_refused", mmap=MMAP_THRESHOLD, trim=TRIM_THRESHOLD)
    return done
