"""One image's bytes going into the cache as they stream past, checked before they count."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

import structlog

from infra.image_cache.entries import ExpectedData

if TYPE_CHECKING:
    from infra.image_cache.disk import ImageCache

log = structlog.get_logger(__name__)


class CacheFill:
    """Bytes written to `incomplete/`, hashed with the image's own algorithms on the way.

    A fill never fails the transfer it follows: a disk error stops the fill alone (logged),
    and `finish` keeps the bytes only if they are exactly the image's recorded data (size,
    md5 checksum and os_hash_value); otherwise they are set aside as invalid."""

    def __init__(
        self, cache: ImageCache, expected: ExpectedData, path: Path, file: BinaryIO
    ) -> None:
        self.cache = cache
        self.expected = expected
        self.path = path
        self.file = file
        self.size = 0
        self.failed = False
        self.ended = False
        self.md5 = hashlib.md5(usedforsecurity=False) if expected.checksum else None
        self.os_hash = None
        if expected.os_hash_algo and expected.os_hash_value:
            try:
                self.os_hash = hashlib.new(expected.os_hash_algo)
            except ValueError:
                # An algorithm this node cannot compute: the copy could not be verified.
                self.failed = True

    async def write(self, chunk: bytes) -> None:
        if self.failed:
            return
        self.size += len(chunk)
        if self.size > self.expected.size:
            self.failed = True
            return
        try:
            await asyncio.to_thread(self._write, chunk)
        except OSError as e:
            self.failed = True
            log.warning("image_cache_fill_failed", image_id=self.expected.image_id, error=str(e))

    def _write(self, chunk: bytes) -> None:
        self.file.write(chunk)
        for digest in (self.md5, self.os_hash):
            if digest is not None:
                digest.update(chunk)

    async def finish(self) -> bool:
        """Publish the bytes if they are the image's; whether they were."""
        if self.ended:
            return False
        self.ended = True
        return await asyncio.to_thread(self._finish)

    def _finish(self) -> bool:
        try:
            self.file.close()
            if self.failed:
                self.path.unlink(missing_ok=True)
                return False
            if not self._verified():
                log.warning(
                    "image_cache_fill_invalid", image_id=self.expected.image_id, size=self.size
                )
                self.cache.set_aside(self.path)
                return False
            self.cache.publish(self.expected, self.path)
        except OSError as e:
            log.warning("image_cache_fill_failed", image_id=self.expected.image_id, error=str(e))
            self.path.unlink(missing_ok=True)
            return False
        log.info("image_cached", image_id=self.expected.image_id, size=self.size)
        try:
            self.cache.prune_now()  # back within its size, the new entry counted
        except OSError as e:
            log.warning("image_cache_prune_failed", error=str(e))
        return True

    async def abandon(self) -> None:
        """Drop what was written (the transfer ended early); nothing once finished."""
        if self.ended:
            return
        self.ended = True

        def drop() -> None:
            self.file.close()
            self.path.unlink(missing_ok=True)

        await asyncio.to_thread(drop)

    def _verified(self) -> bool:
        expected = self.expected
        return (
            self.size == expected.size
            and (self.md5 is None or self.md5.hexdigest() == expected.checksum)
            and (self.os_hash is None or self.os_hash.hexdigest() == expected.os_hash_value)
        )
