"""The interface every image-data store driver implements, and what an upload returns."""

from __future__ import annotations

import re
from collections.abc import AsyncGenerator, AsyncIterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from stores.errors import InvalidLocation

Chunk = bytes | memoryview
"""A piece of data being stored. A memoryview may be of a buffer its producer fills again
once the piece after next is asked for (see `stores.streaming.AlignedBuffer`): whoever keeps
bytes of it longer copies them."""

# Keys become file names and object names: a conservative alphabet keeps them free of path
# separators, `..`, hidden files and anything a URL would have to escape.
_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,254}")


def check_key(key: str) -> str:
    """`key` itself if a store may use it as an object name; `InvalidLocation` if not."""
    if not _KEY.fullmatch(key) or ".." in key:
        raise InvalidLocation(f"invalid key {key!r}")
    return key


@dataclass(frozen=True)
class StoredData:
    """Where a successful `add` put the data, and what it was."""

    location: str
    """URL of the data: `file:///abs/path/<key>` or `s3://<bucket>/<key>`, never credentials."""
    size: int
    checksum: str
    """md5 hex digest (Glance's `checksum`)."""
    os_hash_algo: str
    """Always "sha512"."""
    os_hash_value: str
    """sha512 hex digest."""
    digests: Mapping[str, str] = field(default_factory=dict)
    """The hex digests `add` was asked for with `also_digest`, by hashlib name."""


class ImageStore(Protocol):
    """One place where image bytes live.

    Every driver keeps the same contract: `add` streams with bounded memory and hashes as it goes;
    a failed or cancelled `add` leaves nothing under its key; `delete` is idempotent and also
    removes what an `add` whose process was killed left under the location; reading or sizing
    missing data raises `StoreNotFound`; a location of another store raises `InvalidLocation`.
    "Nothing" includes what a backend keeps out of sight, such as S3's unfinished multipart
    uploads and their parts. Only `StoreError`s come out of a driver's own I/O.
    """

    scheme: str
    """The driver's name and the main URL scheme of its locations: "file", "s3", "http"."""
    schemes: tuple[str, ...]
    """Every URL scheme of this driver's locations: ("file",), ("s3",), ("http", "https")."""

    def location_for(self, key: str) -> str:
        """The URL that `add(key, ...)` writes to, known before writing (to record it first)."""
        ...

    def owns(self, location: str) -> bool:
        """Whether `location` names data in this store (its folder, its bucket, ...)."""
        ...

    def key_of(self, location: str) -> str:
        """The key whose data `location` names: `location_for(key_of(x))` is the one spelling
        of `x` this store writes. `InvalidLocation` if `location` is not this store's."""
        ...

    async def add(
        self,
        key: str,
        chunks: AsyncIterable[Chunk],
        *,
        max_size: int | None = None,
        also_digest: Sequence[str] = (),
    ) -> StoredData:
        """Store the streamed bytes under `key`, replacing what was there.

        The bytes are digested as they pass, once: md5 and sha512 always, and the hashlib
        algorithms named in `also_digest` (reported in `StoredData.digests`).

        Raises `SizeLimitExceeded` as soon as more than `max_size` bytes have arrived. On any
        failure or cancellation nothing is left under `key` and the error propagates unchanged
        (errors of `chunks` included). The data is durable once this returns.
        """
        ...

    def get(
        self, location: str, *, offset: int = 0, length: int | None = None
    ) -> AsyncGenerator[bytes, None]:
        """The bytes at `location` from `offset`, at most `length` of them, in chunks of ~1 MiB.

        An offset at or past the end yields nothing. `StoreNotFound` (on the first iteration)
        if there is no data. A reader that stops early should `aclose()` the generator (e.g.
        with `contextlib.aclosing`) to release the file or connection at once.
        """
        ...

    async def delete(self, location: str) -> None:
        """Remove the data at `location`; data already gone is not an error.

        Also removes what an `add` to that location left when its process was killed (a
        partial file, an open multipart upload), found from the location alone: the location
        recorded before an upload's first byte is enough to clean up after it. An `add` of
        this store still writing there stops at its next write with `StoreNotFound`, or its
        bytes are gone once it ends; nothing is left either way.
        """
        ...

    async def size(self, location: str) -> int:
        """The size in bytes of the data at `location`; `StoreNotFound` if there is none."""
        ...

    async def check_location(self, location: str) -> None:
        """`InvalidLocation` if `location` is not one this store may read, found without
        reading it (whether there is data there is the read's to find)."""
        ...

    async def close(self) -> None:
        """Release connections and other resources; the store is not used afterwards."""
        ...
