"""Keeping only the byte ranges the format checks need from a stream read once."""

from __future__ import annotations

from dataclasses import dataclass, field

HEAD_SIZE = 64 * 1024
"""Every format's header (and an ISO's volume descriptors) lies in the first 64 KiB."""
TAIL_SIZE = 2048
"""A fixed VHD's only footer is its last 512 bytes; a stream VMDK's footer is the 1536 bytes
before its last whole sector."""
MAX_REGION = 64 * 1024
MAX_REGIONS = 8
"""What formats may ask for beyond the head: a few small tables, never the image's data."""
MAX_REACH = 256 * 1024 * 1024
"""How far into the stream a table may be asked for. Writers put their tables in the first few
MiB (qemu-img puts a VHDX's metadata at 3 MiB); one claimed further on is left unread and its
check reports what it could not learn."""
MAX_BUFFERED = HEAD_SIZE + TAIL_SIZE + MAX_REGIONS * MAX_REGION
"""The most `Captured` ever holds, whatever the stream's size or content."""


@dataclass
class _Region:
    start: int
    length: int
    data: bytearray = field(default_factory=bytearray)

    @property
    def complete(self) -> bool:
        return len(self.data) == self.length

    def fill(self, chunk: bytes | memoryview, chunk_start: int) -> bool:
        """Take what `chunk` holds of the rest of the region; True if that completed it."""
        wanted_from = self.start + len(self.data)
        offset = wanted_from - chunk_start
        if self.complete or offset < 0 or offset >= len(chunk):
            return False
        self.data += chunk[offset : offset + self.length - len(self.data)]
        return self.complete


class Captured:
    """The head, the tail and the asked-for regions of a stream, as it passes by.

    A region can be asked for while the stream is before it or inside it; bytes already passed
    are taken from the head or from the chunk just fed. A region whose start the stream has left
    behind stays unknown, and the check that wanted it says so.
    """

    def __init__(self) -> None:
        self.size = 0
        self._head = bytearray()
        self._tail = b""
        self._regions: dict[tuple[int, int], _Region] = {}
        # The chunk being fed, so that regions asked for because of it can take from it too.
        self._chunk: bytes | memoryview = b""
        self._chunk_start = 0

    @property
    def buffered_bytes(self) -> int:
        """Bytes held (at most `MAX_BUFFERED`), whatever the stream's size."""
        return len(self._head) + len(self._tail) + sum(len(r.data) for r in self._regions.values())

    def feed(self, chunk: bytes | memoryview) -> bool:
        """Take the next chunk; True if the head or a region was completed by it."""
        self._chunk, self._chunk_start = chunk, self.size
        self.size += len(chunk)
        completed = False
        if len(self._head) < HEAD_SIZE:
            self._head += chunk[: HEAD_SIZE - len(self._head)]
            completed = len(self._head) == HEAD_SIZE
        if len(chunk) >= TAIL_SIZE:
            self._tail = bytes(chunk[-TAIL_SIZE:])  # a copy: the chunk's memory may be reused
        else:
            self._tail = (self._tail + chunk)[-TAIL_SIZE:]
        for region in self._regions.values():
            completed = region.fill(chunk, self._chunk_start) or completed
        return completed

    def done_with_chunk(self) -> None:
        """Let go of the chunk just fed: it is the caller's, and may be megabytes."""
        self._chunk = b""

    def want(self, start: int, length: int) -> None:
        """Keep `length` bytes (capped) from `start`, if still possible."""
        length = min(length, MAX_REGION)
        key = (start, length)
        if start < 0 or length <= 0 or key in self._regions or start + length <= HEAD_SIZE:
            return  # nothing to keep, already kept, or the head will hold it
        if start > MAX_REACH or len(self._regions) >= MAX_REGIONS:
            return
        region = _Region(start, length)
        if start < len(self._head):
            region.data += self._head[start : start + length]
        if not region.complete and start + len(region.data) < self._chunk_start:
            return  # part of it has gone by unkept
        region.fill(self._chunk, self._chunk_start)
        self._regions[key] = region

    def at(self, start: int, length: int) -> bytes | None:
        """The bytes at [start, start + length) if they were kept, else None."""
        if start < 0 or length < 0 or start + length > self.size:
            return None
        if start + length <= len(self._head):
            return bytes(self._head[start : start + length])
        tail_start = self.size - len(self._tail)
        if start >= tail_start:
            return self._tail[start - tail_start : start - tail_start + length]
        for region in self._regions.values():
            offset = start - region.start
            if offset >= 0 and offset + length <= len(region.data):
                return bytes(region.data[offset : offset + length])
        return None
