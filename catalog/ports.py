"""Ports: what the application needs from the outside world, as Protocols.

Adapters in `infra/` implement them; the domain and the command handlers only see these.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterable, AsyncIterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from catalog.claims import Claim
from catalog.events import EventMetadata, NewEvent, RecordedEvent
from catalog.quotas import QuotaLimits, Usage

if TYPE_CHECKING:
    from catalog.image import Image


@dataclass(frozen=True, order=True)
class LogCursor:
    """A reader's place in the log.

    Readers follow the order in which appends committed, `(commit_order, position)`, not the bare
    position: positions come from a sequence and can commit out of order, so a reader that only
    remembered a position could skip an event that commits later with a smaller one.
    """

    commit_order: int = 0
    position: int = 0


LOG_START = LogCursor()


class EventLog(Protocol):
    """The append-only log of every image's events: the only source of truth."""

    async def load_stream(
        self, stream_id: uuid.UUID, after_version: int = 0
    ) -> list[RecordedEvent]:
        """The events of one stream after `after_version` (every one by default), in version
        order (empty if the stream does not exist)."""
        ...

    async def append(
        self,
        stream_id: uuid.UUID,
        expected_version: int,
        events: Sequence[NewEvent],
        metadata: EventMetadata,
        claim: Claim | None = None,
    ) -> list[RecordedEvent]:
        """Append events as versions expected_version+1.. in one transaction.

        The inline projections are updated in the same transaction. Raises
        `ConcurrencyConflict` if the stream is no longer at `expected_version`. A `claim` is
        checked in that transaction, after every earlier claim of the same project or name
        (`catalog/claims.py`): if it is refused (a quota's `TooLarge`, a name's `Conflict`),
        nothing is appended.
        """
        ...

    async def read(self, after: LogCursor, limit: int) -> list[RecordedEvent]:
        """Events after `after`, in commit order, up to the point where every earlier append has
        committed: a reader that advances its cursor over what this returns never skips one."""
        ...


class AuditLog(Protocol):
    """What audit reads from the log: an image's own stream, and the records of its downloads
    (each on a stream of its own, see `ImageDataSent`)."""

    async def load_stream(self, stream_id: uuid.UUID) -> list[RecordedEvent]:
        """Every event of one stream, in version order (empty if the stream does not exist)."""
        ...

    async def image(self, image_id: uuid.UUID) -> Image:
        """The image as its whole stream leaves it (one that does not exist if it is not an
        image's), read from its latest snapshot where there is one."""
        ...

    async def stream_page(
        self, stream_id: uuid.UUID, after_position: int, limit: int
    ) -> list[RecordedEvent]:
        """Up to `limit` events of one stream after the log position `after_position`, in
        order, at a cost that does not grow with how far into the stream that is."""
        ...

    async def downloads_of(
        self, image_id: uuid.UUID, after_position: int, limit: int
    ) -> list[RecordedEvent]:
        """Up to `limit` `image.data_sent` events of this image, after the log position
        `after_position`, in position order."""
        ...


class QuotaUsage(Protocol):
    """What projects use of their quotas, and their limits."""

    limits: QuotaLimits

    async def usage(self, project: str) -> Usage: ...


class LocationHolders(Protocol):
    """Which images hold the bytes at a location (the location holders view)."""

    async def of(self, location: str) -> frozenset[uuid.UUID]:
        """The images, not deleted, whose data is at `location`, or will be: data they have
        (kept too while they are pending deletion), a copy or an upload streaming in there,
        staged bytes waiting for their import. Locations as the store spells them
        (`DataStore.location_for`)."""
        ...


class NamespaceStreams(Protocol):
    """Which stream holds the metadata definitions namespace of a name (its view)."""

    async def stream_of(self, name: str) -> uuid.UUID | None:
        """The stream of the live namespace called `name`, if there is one."""
        ...


class Clock(Protocol):
    def now(self) -> datetime: ...


Chunk = bytes | memoryview
"""A piece of an upload's data. A memoryview may be of a buffer its producer fills again once
the piece after next is asked for: whoever keeps bytes of it longer copies them."""


class HashedData(Protocol):
    """Bytes of an image, measured and hashed as Glance records them."""

    @property
    def size(self) -> int: ...
    @property
    def checksum(self) -> str: ...
    @property
    def os_hash_algo(self) -> str: ...
    @property
    def os_hash_value(self) -> str: ...


class StoredData(HashedData, Protocol):
    """What a store reports once an image's bytes are durable."""

    @property
    def location(self) -> str: ...
    @property
    def digests(self) -> Mapping[str, str]:
        """The hex digests asked for with `add`'s `also_digest`, by hashlib name."""
        ...


class DataStore(Protocol):
    """One place where image bytes live. Errors arrive already as `CatalogError`s."""

    def location_for(self, key: str) -> str:
        """Where `add(key, ...)` writes: known before writing, so it can be recorded first."""
        ...

    def key_of(self, location: str) -> str:
        """The key whose data `location` names (`location_for` of it is the location's one
        spelling); `BadRequest` if the location is not this store's."""
        ...

    async def add(
        self,
        key: str,
        chunks: AsyncIterable[Chunk],
        *,
        max_size: int | None = None,
        also_digest: Sequence[str] = (),
    ) -> StoredData:
        """Store the bytes under `key`, digested once as they pass: md5, sha512 and the
        hashlib algorithms named in `also_digest`."""
        ...

    def get(
        self, location: str, *, offset: int = 0, length: int | None = None
    ) -> AsyncIterator[bytes]: ...

    async def delete(self, location: str) -> None: ...

    async def size(self, location: str) -> int: ...

    async def check_location(self, location: str) -> None:
        """`RefusedLocation` if `location` is not one this store may read, found without
        reading it; `ServiceUnavailable` if that cannot be told now."""
        ...


class DataStores(Protocol):
    """The configured stores, by name."""

    @property
    def default_name(self) -> str: ...

    @property
    def names(self) -> frozenset[str]:
        """Every configured store's name."""
        ...

    @property
    def writable_names(self) -> list[str]:
        """The stores new data can go to, in the order configured."""
        ...

    def named(self, name: str) -> DataStore:
        """The store called `name`; `BadRequest` if there is none."""
        ...

    def writable(self, name: str) -> DataStore:
        """The store called `name`, for new data; `BadRequest` if unknown, `Gone` if read-only."""
        ...

    def for_location(self, location: str) -> tuple[str, DataStore]:
        """The store holding `location` and its name; `BadRequest` if none does."""
        ...


class Certificates(Protocol):
    """Where the certificates of signed images are found, by their uuid
    (`img_signature_certificate_uuid`)."""

    async def find(self, uuid: str, token: str | None) -> bytes | None:
        """The certificate's bytes (PEM or DER), or None if there is none with that uuid.
        `token` is the caller's, for a key manager that answers each user for their own
        secrets. `ServiceUnavailable` if the certificates cannot be reached now."""
        ...


class RemoteData(Protocol):
    """Image data at an http(s) URL outside the catalog's stores, which an import fetches
    (web-download, glance-download, the tasks API's `import_from`). Errors arrive already as
    `CatalogError`s."""

    async def check_location(self, location: str) -> None:
        """`RefusedLocation` if the URL `location` may not be fetched (its scheme, its form, an
        address its host resolves to), found without fetching it; `ServiceUnavailable` if that
        cannot be told now."""
        ...

    def get(self, location: str, headers: Mapping[str, str] | None = None) -> AsyncIterator[bytes]:
        """The bytes at the URL, asked with `headers` (a token, for another image service);
        `NotFound` (on the first iteration) if there are none."""
        ...


class ServiceCatalog(Protocol):
    """The services a caller's token gives them, by region (Keystone's service catalog)."""

    async def endpoint(
        self, token: str, service_type: str, interface: str, region: str | None = None
    ) -> str | None:
        """The URL of the `service_type` service at `interface` (public, internal, admin) in
        `region` (any when None, names compared ignoring case) in the catalog of `token`'s
        holder; None if it lists none. `ServiceUnavailable` if it cannot be asked now."""
        ...


class ConvertedDisk(HashedData, Protocol):
    """A disk image converted by a `DiskConverter`: held aside until the import ends."""

    @property
    def disk_format(self) -> str: ...
    @property
    def virtual_size(self) -> int: ...

    def read(self) -> AsyncIterator[bytes]: ...


class DiskConverter(Protocol):
    """Converts disk images from one format to another (`qemu-img convert`)."""

    def convert(
        self, data: AsyncIterator[bytes], source_format: str, target_format: str
    ) -> AbstractAsyncContextManager[ConvertedDisk]:
        """The bytes of `data` as `target_format`, held until the context ends (then they
        go, whichever way it ends). `ConversionRefused` if the bytes are not a safe disk of
        `source_format` (a backing file, an external data file) or the converter refuses them;
        the bytes are then already gone."""
        ...
