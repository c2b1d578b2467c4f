"""Finding a store driver by its name or by the scheme of a location."""

from __future__ import annotations

import pytest

from stores.base import ImageStore
from stores.errors import InvalidLocation
from stores.filesystem import FilesystemStore
from stores.http import HttpStore
from stores.registry import DRIVERS, driver_for_location, driver_named
from stores.s3 import S3Store


def test_drivers_are_named_after_their_main_scheme() -> None:
    assert driver_named("file") is FilesystemStore
    assert driver_named("s3") is S3Store
    assert driver_named("http") is HttpStore
    with pytest.raises(ValueError, match="unknown store driver 'https'"):
        driver_named("https")


@pytest.mark.parametrize("driver", DRIVERS.values())
def test_a_location_of_any_of_a_drivers_schemes_belongs_to_it(driver: type[ImageStore]) -> None:
    assert driver.scheme in driver.schemes
    for scheme in driver.schemes:
        assert driver_for_location(f"{scheme}://somewhere/data") is driver


@pytest.mark.parametrize("location", ["ftp://host/x", "gopher://host/", "no-scheme"])
def test_a_location_of_no_driver_is_invalid(location: str) -> None:
    with pytest.raises(InvalidLocation, match="no store driver"):
        driver_for_location(location)
