"""The filesystem store: one file per key in a single folder."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import logging
import os
from collections.abc import AsyncGenerator, AsyncIterable, Awaitable, Sequence
from pathlib import Path
from typing import TypeVar
from urllib.parse import unquote, urlsplit

from stores.base import Chunk, StoredData, check_key
from stores.errors import InvalidLocation, StoreError, StoreFull, StoreNotFound, StoreUnavailable
from stores.hashing import StreamHasher
from stores.streaming import BLOCK_SIZE, READ_CHUNK_SIZE, aligned_blocks, check_range
from stores.worker import SerialWorker

T = TypeVar("T")

log = logging.getLogger(__name__)

_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}


class FilesystemStore:
    """Image data as files `<root>/<key>`, at locations `file://<root>/<key>`.

    File I/O runs in worker threads, never on the event loop. A new file is written in place (so
    the location recorded before the upload is exactly where a crash leaves bytes to clean up)
    and fsynced, together with its folder, before `add` returns.

    With `direct_io` (the default), new files are written with O_DIRECT where the filesystem
    allows it: the bytes go from an aligned buffer to the disk without being copied into the
    page cache first. On a virtual machine that copy costs more CPU than hashing the bytes, and
    a new image is rarely read back by the node that stored it. A filesystem that refuses
    O_DIRECT (tmpfs) is written to as usual.
    """

    scheme = "file"
    schemes: tuple[str, ...] = ("file",)

    def __init__(self, root: Path, *, direct_io: bool = True) -> None:
        # Absolute and normalised, but symlinks kept: locations must name the folder as
        # configured, or they would change when a symlink is repointed.
        self.root = Path(os.path.abspath(root))
        self.direct_io = direct_io

    def owns(self, location: str) -> bool:
        try:
            self.path_of(location)
        except InvalidLocation:
            return False
        return True

    def location_for(self, key: str) -> str:
        return self._path_for_key(key).as_uri()

    def key_of(self, location: str) -> str:
        return self.path_of(location).name

    async def add(
        self,
        key: str,
        chunks: AsyncIterable[Chunk],
        *,
        max_size: int | None = None,
        also_digest: Sequence[str] = (),
    ) -> StoredData:
        path = self._path_for_key(key)
        file = _NewFile(path, direct=self.direct_io)
        worker = SerialWorker()
        try:
            await _io(worker.run(file.open))
            hasher = StreamHasher(also_digest)
            async with contextlib.aclosing(
                aligned_blocks(chunks, BLOCK_SIZE, max_size=max_size)
            ) as blocks:
                async for block in blocks:
                    # The block is hashed in other threads while this one writes it; both are
                    # done before the block after next is asked for, as aligned_blocks needs.
                    await hasher.update(block)
                    await _io(worker.run(file.write, block))
            digests = await hasher.digests()
            await _io(worker.run(file.commit))
        except BaseException:
            # Queued behind any write still running, so it always sees the file's final state.
            await worker.run(file.discard)
            raise
        finally:
            worker.close()
        return digests.stored_at(path.as_uri())

    async def get(
        self, location: str, *, offset: int = 0, length: int | None = None
    ) -> AsyncGenerator[bytes, None]:
        path = self.path_of(location)
        check_range(offset, length)
        file = _OpenFile(path)
        worker = SerialWorker()
        try:
            await _io(worker.run(file.open))
            remaining = length
            while remaining is None or remaining > 0:
                wanted = READ_CHUNK_SIZE if remaining is None else min(READ_CHUNK_SIZE, remaining)
                chunk = await _io(worker.run(file.read, wanted, offset))
                if not chunk:
                    break
                offset += len(chunk)
                if remaining is not None:
                    remaining -= len(chunk)
                yield chunk
        finally:
            # Not awaited: this also runs when the generator is finalised outside a task.
            worker.submit(file.close)
            worker.close()

    async def delete(self, location: str) -> None:
        path = self.path_of(location)
        await _io(asyncio.to_thread(path.unlink, missing_ok=True))

    async def check_location(self, location: str) -> None:
        self.key_of(location)

    async def size(self, location: str) -> int:
        path = self.path_of(location)
        stat = await _io(asyncio.to_thread(path.stat))
        return stat.st_size

    async def close(self) -> None:
        """Nothing to release: every file is closed when its call ends."""

    def _path_for_key(self, key: str) -> Path:
        return self.root / check_key(key)

    def path_of(self, location: str) -> Path:
        """The file a location names, if it is one of this store's; else `InvalidLocation`."""
        parts = urlsplit(location)
        if (
            parts.scheme != self.scheme
            or parts.netloc not in ("", "localhost")
            or parts.query
            or parts.fragment
        ):
            raise InvalidLocation(f"not a location of the filesystem store: {location!r}")
        path = Path(unquote(parts.path))
        if not path.is_absolute() or path.parent != self.root:
            raise InvalidLocation(f"location outside the store's folder {self.root}: {location!r}")
        try:
            check_key(path.name)
        except InvalidLocation as e:
            raise InvalidLocation(f"invalid file name in location {location!r}") from e
        return path


async def _io(call: Awaitable[T]) -> T:
    """The result of a file operation, its `OSError` translated into a `StoreError`."""
    try:
        return await call
    except OSError as e:
        raise _store_error(e) from e


def _store_error(e: OSError) -> StoreError:
    if e.errno in _FULL:
        return StoreFull(f"no space left for image data: {e}")
    if isinstance(e, FileNotFoundError):
        return StoreNotFound(f"no image data at {e.filename}")
    return StoreUnavailable(f"image data I/O failed: {e}")


DIRECT_ALIGNMENT = 4096
"""What O_DIRECT asks of a write's buffer address, length and file offset: a multiple of the
device's logical block size, which 4096 is for every disk in use."""


class _NewFile:
    """A file being written. Its methods block: they run in the store's worker thread.

    Written directly (O_DIRECT) while the writes are whole multiples of `DIRECT_ALIGNMENT`
    from aligned memory (every block of `aligned_blocks` but an upload's last); the last,
    shorter one goes through the page cache. Should the filesystem refuse a direct write after
    all, the rest goes through the page cache too.
    """

    def __init__(self, path: Path, *, direct: bool = False) -> None:
        self.path = path
        self._fd = -1
        self._direct = direct

    def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC
        if self._direct:
            try:
                self._fd = os.open(self.path, flags | os.O_DIRECT, 0o644)
                return
            except OSError as e:
                if e.errno != errno.EINVAL:
                    raise
                self._direct = False
        self._fd = os.open(self.path, flags, 0o644)

    def write(self, data: bytes | memoryview) -> None:
        view = memoryview(data)
        if self._direct and len(view) % DIRECT_ALIGNMENT:
            self._through_page_cache()
        while view:
            try:
                written = os.write(self._fd, view)
            except OSError as e:
                if not (self._direct and e.errno == errno.EINVAL):
                    raise
                self._through_page_cache()
                continue
            view = view[written:]

    def _through_page_cache(self) -> None:
        """Write the rest as usual: a short last block, or a filesystem that refused."""
        flags = fcntl.fcntl(self._fd, fcntl.F_GETFL)
        fcntl.fcntl(self._fd, fcntl.F_SETFL, flags & ~os.O_DIRECT)
        self._direct = False

    def commit(self) -> None:
        """Make the data durable: the file's bytes, then its name in the folder."""
        os.fsync(self._fd)
        self._close()
        folder = os.open(self.path.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)

    def discard(self) -> None:
        """Close and remove the file, whatever state it got to; never raises."""
        try:
            self._close()
            self.path.unlink(missing_ok=True)
        except OSError:
            # The caller's error matters more; it also deletes the location when it recovers.
            log.warning("could not remove partial image data %s", self.path, exc_info=True)

    def _close(self) -> None:
        # Forget the descriptor before closing it: a second close could hit a reused number.
        fd, self._fd = self._fd, -1
        if fd >= 0:
            os.close(fd)


class _OpenFile:
    """A file being read. Its methods block: they run in the store's worker thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd = -1

    def open(self) -> None:
        self._fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)

    def read(self, size: int, offset: int) -> bytes:
        return os.pread(self._fd, size, offset)

    def close(self) -> None:
        fd, self._fd = self._fd, -1
        if fd >= 0:
            os.close(fd)
