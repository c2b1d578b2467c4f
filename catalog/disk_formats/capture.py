"""Keeping only the byte ranges the format checks need from a stream read once."""

from __future__ import annotations

from dataclasses import dataclass, field

HEAD_SIZE = 64 * 1024
"""Every format's header (and an ISO's volume descriptor) lies in the first 64 KiB."""
TAIL_SIZE = 512
"""A fixed VHD's only footer is its last 512 bytes."""
MAX_REGION = 64 * 1024
MAX_REGIONS = 8
"""What formats may ask for beyond the head: a few small tables, never the image's data."""


@dataclass
class _Region:
    start: int
    length: int
    data: bytearray = field(default_factory=bytearray)

    @property
    def complete(self) -> bool:
        return len(self.data) == self.length


class Captured:
    """The head, the tail and the asked-for regions of a stream, as it passes by.

    Regions can only be asked for ahead of (or within) the chunk being fed: the stream is read
    once, so a region already passed stays unknown and its format check says so.
    """

    def __init__(self) -> None:
        self.size = 0
        self._head = bytearray()
        self._tail = b""
        self._regions: dict[tuple[int, int], _Region] = {}
        self._chunk = b""
        self._chunk_start = 0

    @property
    def buffered_bytes(self) -> int:
        """Bytes held, whatever the stream's size."""
        return len(self._head) + len(self._tail) + sum(len(r.data) for r in self._regions.values())

    def feed(self, chunk: bytes) -> bool:
        """Take the next chunk; True if a region (or the head) was completed by it."""
        start, self._chunk, self._chunk_start = self.size, chunk, self.size
        self.size += len(chunk)
        completed = False
        if len(self._head) < HEAD_SIZE:
            self._head += chunk[: HEAD_SIZE - len(self._head)]
            completed = len(self._head) == HEAD_SIZE or False
        self._tail = (self._tail + chunk[-TAIL_SIZE:])[-TAIL_SIZE:]
        for region in self._regions.values():
            if not region.complete and self._fill(region, chunk, start):
                completed = True
        return completed

    def want(self, start: int, length: int) -> None:
        """Keep `length` bytes from `start` (capped), if the stream has not passed them yet."""
        length = min(length, MAX_REGION)
        key = (start, length)
        if start < 0 or length <= 0 or key in self._regions or start + length <= HEAD_SIZE:
            return
        if len(self._regions) >= MAX_REGIONS or start < self._chunk_start:
            return
        region = _Region(start, length)
        self._regions[key] = region
        self._fill(region, self._chunk, self._chunk_start)

    def at(self, start: int, length: int) -> bytes | None:
        """The bytes at [start, start + length) if they were kept, else None."""
        if start + length <= len(self._head):
            return bytes(self._head[start : start + length])
        tail_start = self.size - len(self._tail)
        if start >= tail_start and start + length <= self.size:
            return self._tail[start - tail_start : start - tail_start + length]
        for region in self._regions.values():
            end = region.start + len(region.data)
            if region.start <= start and start + length <= end:
                offset = start - region.start
                return bytes(region.data[offset : offset + length])
        return None

    @property
    def tail(self) -> bytes:
        return self._tail

    @staticmethod
    def _fill(region: _Region, chunk: bytes, chunk_start: int) -> bool:
        """Copy what `chunk` holds of `region`; True if that completed it."""
        wanted_from = region.start + len(region.data)
        chunk_end = chunk_start + len(chunk)
        if wanted_from < chunk_start or wanted_from >= chunk_end:
            return False
        take = min(region.length - len(region.data), chunk_end - wanted_from)
        offset = wanted_from - chunk_start
        region.data += chunk[offset : offset + take]
        return region.complete
