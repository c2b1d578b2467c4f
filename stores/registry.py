"""Which driver class a store name or a location URL belongs to."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

from stores.base import ImageStore
from stores.errors import InvalidLocation
from stores.filesystem import FilesystemStore
from stores.http import HttpStore
from stores.s3 import S3Store

# A driver's name is the main scheme of its locations.
DRIVERS: Mapping[str, type[ImageStore]] = {
    driver.scheme: driver for driver in (FilesystemStore, S3Store, HttpStore)
}
# Some drivers have locations of more than one scheme (http and https).
_BY_SCHEME: Mapping[str, type[ImageStore]] = {
    scheme: driver for driver in DRIVERS.values() for scheme in driver.schemes
}


def driver_named(name: str) -> type[ImageStore]:
    """The driver class called `name` ("file", "s3", "http"); `ValueError` if there is none."""
    try:
        return DRIVERS[name]
    except KeyError:
        raise ValueError(f"unknown store driver {name!r}; known: {', '.join(DRIVERS)}") from None


def driver_for_location(location: str) -> type[ImageStore]:
    """The driver class whose locations look like `location`; `InvalidLocation` if none."""
    driver = _BY_SCHEME.get(urlsplit(location).scheme)
    if driver is None:
        raise InvalidLocation(f"no store driver for the location {location!r}")
    return driver
