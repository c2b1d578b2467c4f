"""md5 and sha512 of a byte stream (and any other digest asked for), computed in worker threads
while the stream flows."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from stores.base import StoredData

HASH_ALGO = "sha512"

# Below this a thread hop costs more than the hashing itself.
_INLINE_LIMIT = 64 * 1024


@dataclass(frozen=True)
class Digests:
    """The size and hex digests of everything fed to a `StreamHasher`."""

    size: int
    md5: str
    sha512: str
    also: Mapping[str, str] = field(default_factory=dict)
    """The hex digests asked for beside md5 and sha512, by hashlib name."""

    def stored_at(self, location: str) -> StoredData:
        """What `add` reports for data with these digests, written to `location`."""
        return StoredData(
            location=location,
            size=self.size,
            checksum=self.md5,
            os_hash_algo=HASH_ALGO,
            os_hash_value=self.sha512,
            digests=self.also,
        )


class StreamHasher:
    """Digests blocks of a stream with md5 and sha512 (and the hashlib algorithms named in
    `also`, such as the one an image's signature was made with), each digest in its own worker
    thread.

    `update(block)` starts digesting `block` and returns once the *previous* block is done, so
    the caller can fetch or write the next block while this one is hashed, and at most one block
    is ever waiting here. hashlib releases the GIL on large buffers, so the two digests really run
    in parallel and the event loop never waits on them. Feed blocks of a few MiB.
    """

    def __init__(self, also: Sequence[str] = ()) -> None:
        self._md5 = hashlib.md5(usedforsecurity=False)
        self._sha512 = hashlib.sha512()
        # sha512 is digested anyway: asked for again, it is the same digest.
        self._also = {name: hashlib.new(name) for name in also if name != HASH_ALGO}
        self._also_sha512 = HASH_ALGO in also
        self._every = (self._md5, self._sha512, *self._also.values())
        self._size = 0
        self._in_flight: list[asyncio.Future[None]] = []

    async def update(self, block: bytes | memoryview) -> None:
        """Start digesting `block` (treated as immutable from here on)."""
        await self._settle()
        self._size += len(block)
        if len(block) < _INLINE_LIMIT:
            for digest in self._every:
                digest.update(block)
            return
        loop = asyncio.get_running_loop()
        self._in_flight = [loop.run_in_executor(None, d.update, block) for d in self._every]

    async def digests(self) -> Digests:
        """The result, once every block given so far is digested."""
        await self._settle()
        sha512 = self._sha512.hexdigest()
        also = {name: digest.hexdigest() for name, digest in self._also.items()}
        if self._also_sha512:
            also[HASH_ALGO] = sha512
        return Digests(size=self._size, md5=self._md5.hexdigest(), sha512=sha512, also=also)

    async def _settle(self) -> None:
        # asyncio.wait, unlike gather, leaves the futures alone if we are cancelled: a thread
        # cannot be stopped anyway, and a digest that finishes later only touches this hasher.
        if self._in_flight:
            await asyncio.wait(self._in_flight)
            in_flight, self._in_flight = self._in_flight, []
            for future in in_flight:
                future.result()
