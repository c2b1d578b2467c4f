"""The configured image-data stores, presented to the application as `catalog.ports.DataStores`.

Store drivers raise `StoreError`s; the application speaks `CatalogError`s. This adapter is the one
place that translates between them, so HTTP status mapping stays in one middleware.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterable, AsyncIterator, Iterator, Mapping

from catalog.errors import BadRequest, CatalogError, NotFound, ServiceUnavailable, TooLarge
from stores.base import ImageStore, StoredData
from stores.errors import (
    InvalidLocation,
    SizeLimitExceeded,
    StoreError,
    StoreFull,
    StoreNotFound,
    StoreUnavailable,
)

TOO_LARGE = "The incoming image is too large: The provided image is too large."


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
        raise BadRequest(f"Invalid location: {e}") from e
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

    async def add(
        self, key: str, chunks: AsyncIterable[bytes], *, max_size: int | None = None
    ) -> StoredData:
        with _translated():
            return await self.driver.add(key, chunks, max_size=max_size)

    async def get(
        self, location: str, *, offset: int = 0, length: int | None = None
    ) -> AsyncIterator[bytes]:
        with _translated():
            async for chunk in self.driver.get(location, offset=offset, length=length):
                yield chunk

    async def delete(self, location: str) -> None:
        with _translated():
            await self.driver.delete(location)

    async def size(self, location: str) -> int:
        with _translated():
            return await self.driver.size(location)


class ConfiguredStores:
    """`catalog.ports.DataStores`: the named stores of this deployment, one of them the default."""

    def __init__(self, drivers: Mapping[str, ImageStore], default_name: str) -> None:
        if default_name not in drivers:
            raise ValueError(f"default store {default_name!r} is not configured")
        self._stores = {name: TranslatingStore(d) for name, d in drivers.items()}
        self._default = default_name

    @property
    def default_name(self) -> str:
        return self._default

    def named(self, name: str) -> TranslatingStore:
        store = self._stores.get(name)
        if store is None:
            raise BadRequest(f"Unknown store {name!r}.")
        return store

    def for_location(self, location: str) -> tuple[str, TranslatingStore]:
        scheme = location.split("://", 1)[0] if "://" in location else ""
        for name, store in self._stores.items():
            if store.driver.scheme == scheme:
                return name, store
        raise BadRequest(f"No configured store holds the location {location!r}.")

    async def close(self) -> None:
        for store in self._stores.values():
            await store.driver.close()
