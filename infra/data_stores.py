"""The configured image-data stores, presented to the application as `catalog.ports.DataStores`.

Store drivers raise `StoreError`s; the application speaks `CatalogError`s. This adapter is the one
place that translates between them, so HTTP status mapping stays in one middleware.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator, AsyncIterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from catalog.commands.upload_limits import TOO_LARGE
from catalog.errors import (
    BadRequest,
    CatalogError,
    Gone,
    NotFound,
    RefusedLocation,
    ServiceUnavailable,
    TooLarge,
)
from stores.base import Chunk, ImageStore, StoredData
from stores.errors import (
    InvalidLocation,
    SizeLimitExceeded,
    StoreError,
    StoreFull,
    StoreNotFound,
    StoreReadOnly,
    StoreUnavailable,
)
from stores.filesystem import FilesystemStore
from stores.http import HttpStore


@contextlib.contextmanager
def _translated() -> Iterator[None]:
    try:
        yield
    except SizeLimitExceeded as e:
        raise TooLarge(TOO_LARGE) from e
    except StoreFull as e:
        raise TooLarge("Image storage media is full: There is not enough disk space.") from e
    except StoreNotFound as e:
        raise NotFound("Image data not found in its store.") from e
    except InvalidLocation as e:
        raise RefusedLocation(str(e)) from e
    except StoreReadOnly as e:
        raise BadRequest(f"Read-only store: {e}") from e
    except StoreUnavailable as e:
        raise ServiceUnavailable("The image store is not available; try again later.") from e
    except StoreError as e:
        raise CatalogError(f"Image store failure: {e}") from e


class TranslatingStore:
    """A store driver whose errors arrive as `CatalogError`s."""

    def __init__(self, driver: ImageStore) -> None:
        self.driver = driver

    def location_for(self, key: str) -> str:
        with _translated():
            return self.driver.location_for(key)

    def key_of(self, location: str) -> str:
        with _translated():
            return self.driver.key_of(location)

    async def add(
        self,
        key: str,
        chunks: AsyncIterable[Chunk],
        *,
        max_size: int | None = None,
        also_digest: Sequence[str] = (),
    ) -> StoredData:
        with _translated():
            return await self.driver.add(key, chunks, max_size=max_size, also_digest=also_digest)

    async def get(
        self, location: str, *, offset: int = 0, length: int | None = None
    ) -> AsyncGenerator[bytes, None]:
        with _translated():
            async for chunk in self.driver.get(location, offset=offset, length=length):
                yield chunk

    async def delete(self, location: str) -> None:
        with _translated():
            await self.driver.delete(location)

    async def size(self, location: str) -> int:
        with _translated():
            return await self.driver.size(location)

    async def check_location(self, location: str) -> None:
        with _translated():
            await self.driver.check_location(location)

    def local_file(self, location: str) -> Path | None:
        """The file holding the data at `location` if it is on this machine's filesystem, so
        a download can hand it to the kernel (sendfile) instead of copying it through Python."""
        if isinstance(self.driver, FilesystemStore):
            with _translated():
                return self.driver.path_of(location)
        return None


class RemoteHttpData:
    """`catalog.ports.RemoteData`: the URLs imports fetch, read through the http store and its
    checks (the import filter, the addresses allowed, every redirect)."""

    def __init__(self, driver: HttpStore) -> None:
        self.driver = driver

    async def check_location(self, location: str) -> None:
        with _translated():
            await self.driver.check_location(location)

    async def get(
        self, location: str, headers: Mapping[str, str] | None = None
    ) -> AsyncGenerator[bytes, None]:
        with _translated():
            async for chunk in self.driver.get(location, credentials=headers):
                yield chunk

    async def close(self) -> None:
        await self.driver.close()


@dataclass(frozen=True)
class ConfiguredStore:
    """One named store of this deployment: its driver and what discovery says about it."""

    name: str
    driver_name: str
    """"file", "s3", "http"."""
    store: TranslatingStore
    description: str = ""
    weight: int = 0
    properties: Mapping[str, object] = field(default_factory=dict)
    """Driver settings an admin may see (`GET /v2/info/stores/detail`); never credentials."""

    @property
    def read_only(self) -> bool:
        return self.driver_name in READ_ONLY_DRIVERS


READ_ONLY_DRIVERS = frozenset({"http"})


class ConfiguredStores:
    """`catalog.ports.DataStores`: the named stores of this deployment, one of them the default."""

    def __init__(self, stores: Sequence[ConfiguredStore], default_name: str) -> None:
        self._stores = {configured.name: configured for configured in stores}
        if len(self._stores) != len(stores):
            raise ValueError("two stores have the same name")
        default = self._stores.get(default_name)
        if default is None:
            raise ValueError(f"default store {default_name!r} is not configured")
        if default.read_only:
            raise ValueError(f"default store {default_name!r} is read-only")
        self._default = default_name

    @property
    def default_name(self) -> str:
        return self._default

    @property
    def names(self) -> frozenset[str]:
        return frozenset(self._stores)

    @property
    def writable_names(self) -> list[str]:
        return [name for name, configured in self._stores.items() if not configured.read_only]

    @property
    def all(self) -> list[ConfiguredStore]:
        """Every store, in the order configured."""
        return list(self._stores.values())

    def configured(self, name: str) -> ConfiguredStore | None:
        return self._stores.get(name)

    def named(self, name: str) -> TranslatingStore:
        configured = self._stores.get(name)
        if configured is None:
            raise BadRequest(f"Unknown store {name!r}.")
        return configured.store

    def writable(self, name: str) -> TranslatingStore:
        """The store called `name`, for new data; `BadRequest` if unknown, `Gone` if read-only."""
        store = self.named(name)
        if self._stores[name].read_only:
            # Glance's answer (410) when its store refuses to add: the store is read-only.
            raise Gone(
                "Error in store configuration. Adding images to store is disabled.",
                detail=f"Store {name!r} is read-only: image data cannot be written to it.",
            )
        return store

    def for_location(self, location: str) -> tuple[str, TranslatingStore]:
        for name, configured in self._stores.items():
            if configured.store.driver.owns(location):
                return name, configured.store
        raise BadRequest(f"No configured store holds the location {location!r}.")

    def location_to_read(
        self, locations: Sequence[Mapping[str, Any]], preferred: Sequence[str] = ()
    ) -> tuple[str, str]:
        """The copy of an image to read, as (store, url): a preferred store's, else the
        highest weight's, else the first; `NotFound` if no configured store holds one."""

        def rank(location: Mapping[str, Any]) -> tuple[int, int]:
            name = location["store"]
            first = preferred.index(name) if name in preferred else len(preferred)
            return first, -self._stores[name].weight

        readable = [loc for loc in locations if loc["store"] in self._stores]
        if not readable:
            raise NotFound("Image data not found in its store.")
        chosen = min(readable, key=rank)
        return chosen["store"], chosen["url"]

    async def close(self) -> None:
        for configured in self._stores.values():
            await configured.store.driver.close()
