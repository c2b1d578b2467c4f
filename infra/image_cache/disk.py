"""The cache's folder on this node: what is cached, queued, being filled, or found invalid.

The folder is the cache's only state, so that every server process of a node (`--workers`)
shares it without talking to each other, and a restart finds it as it was:

- `cached/<id>` the bytes, `cached/<id>.json` what they are (size, hashes) and how they were
  used (hits, last access). An entry is both files; the data file appears last, atomically
  (a rename), so a reader never sees bytes that were not verified.
- `incomplete/<id>` a fill streaming in (created exclusively: one fill per image per node).
- `invalid/` fills whose bytes did not match the image's hashes, kept for an operator to look
  at until the next cleaning.
- `queue/<id>` an image queued for prefetching (`PUT /v2/cache/{id}`).

Every method does its file work in a worker thread: the event loop never waits on the disk.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any, BinaryIO

import structlog

from infra.image_cache.entries import CacheEntry, ExpectedData, to_prune
from infra.image_cache.fill import CacheFill

log = structlog.get_logger(__name__)

RECORD = ".json"


class ImageCache:
    """One node's image cache in `root`, holding at most `max_size` bytes after pruning."""

    def __init__(
        self,
        root: Path,
        *,
        max_size: int,
        stall_time: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.root = root
        self.max_size = max_size
        self.stall_time = stall_time
        self.clock = clock
        self.cached = root / "cached"
        self.incomplete = root / "incomplete"
        self.invalid = root / "invalid"
        self.queue_dir = root / "queue"

    def create_folders(self) -> None:
        for folder in (self.cached, self.incomplete, self.invalid, self.queue_dir):
            folder.mkdir(parents=True, exist_ok=True)

    # What is there

    async def entries(self) -> list[CacheEntry]:
        return await asyncio.to_thread(self._entries)

    async def queued(self) -> list[str]:
        return await asyncio.to_thread(lambda: sorted(p.name for p in self.queue_dir.iterdir()))

    async def holds(self, image_id: str) -> bool:
        """Cached or queued here."""
        return await asyncio.to_thread(
            lambda: (self.cached / image_id).exists() or (self.queue_dir / image_id).exists()
        )

    def is_filling(self, image_id: str) -> bool:
        return (self.incomplete / image_id).exists()

    # Serving

    async def open_cached(self, expected: ExpectedData) -> BinaryIO | None:
        """The cached bytes of the image, opened, if they are the image's recorded data (a
        copy that no longer is, is evicted); counts the hit."""
        return await asyncio.to_thread(self._open_cached, expected)

    def _open_cached(self, expected: ExpectedData) -> BinaryIO | None:
        image_id = expected.image_id
        try:
            file = (self.cached / image_id).open("rb")
        except FileNotFoundError:
            return None
        # Opened first: an eviction from now on unlinks the name, not these bytes.
        entry = self._entry(image_id)
        if entry is None or entry.data != expected:
            file.close()
            self._evict(image_id)
            log.info("image_cache_stale_evicted", image_id=image_id)
            return None
        now = self.clock()
        self._write_record(image_id, entry.data, entry.last_modified, now, entry.hits + 1)
        return file

    # Filling

    async def start_fill(self, expected: ExpectedData) -> CacheFill | None:
        """A fill for the image's bytes; None if it is cached already, being filled on this
        node, or larger than the whole cache."""
        return await asyncio.to_thread(self._start_fill, expected)

    def _start_fill(self, expected: ExpectedData) -> CacheFill | None:
        if expected.size > self.max_size or (self.cached / expected.image_id).exists():
            return None
        path = self.incomplete / expected.image_id
        self._remove_if_stalled(path)
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return None
        return CacheFill(self, expected, path, os.fdopen(descriptor, "wb"))

    def publish(self, expected: ExpectedData, filled: Path) -> None:
        """Make verified bytes an entry: its record first, then the bytes (the commit)."""
        now = self.clock()
        self._write_record(expected.image_id, expected, now, 0.0, 0)
        os.replace(filled, self.cached / expected.image_id)

    def set_aside(self, filled: Path) -> None:
        """Keep bytes that failed verification under invalid/, for the next cleaning."""
        os.replace(filled, self.invalid / f"{filled.name}.{uuid.uuid4().hex}")

    # Removing

    async def evict(self, image_id: str) -> bool:
        return await asyncio.to_thread(self._evict, image_id)

    def _evict(self, image_id: str) -> bool:
        removed = _remove(self.cached / image_id)
        _remove(self.cached / f"{image_id}{RECORD}")
        return removed is not None

    async def queue(self, image_id: str) -> None:
        await asyncio.to_thread((self.queue_dir / image_id).touch)

    async def dequeue(self, image_id: str) -> bool:
        return await asyncio.to_thread(lambda: _remove(self.queue_dir / image_id) is not None)

    async def clear_cached(self) -> int:
        """Evict every entry; how many there were."""

        def clear() -> int:
            return sum(self._evict(entry.data.image_id) for entry in self._entries())

        return await asyncio.to_thread(clear)

    async def clear_queued(self) -> int:
        def clear() -> int:
            return sum(_remove(path) is not None for path in self.queue_dir.iterdir())

        return await asyncio.to_thread(clear)

    async def prune(self) -> tuple[int, int]:
        """Evict the least recently used entries beyond `max_size`: (files, bytes) removed."""
        return await asyncio.to_thread(self.prune_now)

    def prune_now(self) -> tuple[int, int]:
        """`prune`, in the calling thread."""
        chosen = to_prune(self._entries(), self.max_size)
        for entry in chosen:
            self._evict(entry.data.image_id)
            log.info("image_cache_pruned", image_id=entry.data.image_id, size=entry.data.size)
        return len(chosen), sum(entry.data.size for entry in chosen)

    async def clean(self) -> tuple[int, int]:
        """Remove invalid bytes, fills stalled longer than `stall_time`, and halves of entries
        left by a process that died between writing them: (files, bytes) removed."""

        def clean() -> tuple[int, int]:
            stale = [*self.invalid.iterdir()]
            stale += [p for p in self.incomplete.iterdir() if self._stalled(p)]
            stale += [p for p in self.cached.iterdir() if self._orphan(p) and self._stalled(p)]
            return len(stale), sum(_remove(path) or 0 for path in stale)

        return await asyncio.to_thread(clean)

    # The files

    def _entries(self) -> list[CacheEntry]:
        found = (self._entry(p.name) for p in self.cached.iterdir() if p.suffix != RECORD)
        return [entry for entry in found if entry is not None]

    def _entry(self, image_id: str) -> CacheEntry | None:
        try:
            record: dict[str, Any] = json.loads((self.cached / f"{image_id}{RECORD}").read_text())
            return CacheEntry(
                data=ExpectedData(**record["data"]),
                last_modified=record["last_modified"],
                last_accessed=record["last_accessed"],
                hits=record["hits"],
            )
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def _write_record(
        self, image_id: str, data: ExpectedData, modified: float, accessed: float, hits: int
    ) -> None:
        record = {
            "data": asdict(data),
            "last_modified": modified,
            "last_accessed": accessed,
            "hits": hits,
        }
        written = self.incomplete / f"{image_id}.{uuid.uuid4().hex}{RECORD}"
        written.write_text(json.dumps(record))
        os.replace(written, self.cached / f"{image_id}{RECORD}")

    def _orphan(self, path: Path) -> bool:
        other = (
            path.with_suffix("") if path.suffix == RECORD else path.with_name(path.name + RECORD)
        )
        return not other.exists()

    def _stalled(self, path: Path) -> bool:
        try:
            return self.clock() - path.stat().st_mtime > self.stall_time
        except FileNotFoundError:
            return False

    def _remove_if_stalled(self, path: Path) -> None:
        if self._stalled(path):
            _remove(path)
            log.warning("image_cache_stalled_fill_removed", image_id=path.name)


def _remove(path: Path) -> int | None:
    """Remove a file if it is there: the bytes it held, or None if it was not there."""
    try:
        size = path.stat().st_size
        path.unlink()
    except FileNotFoundError:
        return None
    return size
