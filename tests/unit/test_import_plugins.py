"""Import plugins' decisions on the Image aggregate, and their settings, without any I/O."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from catalog.events import ImageImported, ImageUpdated
from catalog.image import Image, ImageStatus
from infra.operator_errors import SettingsError
from infra.settings import read_settings
from tests.unit.test_image import STAGED, T0, new_image, staging_image


@dataclass(frozen=True)
class Converted:
    disk_format: str = "raw"
    size: int = 1024
    checksum: str = "m"
    os_hash_algo: str = "sha512"
    os_hash_value: str = "s"
    virtual_size: int = 1024

    def read(self) -> AsyncIterator[bytes]:
        raise AssertionError("the aggregate records what the bytes are, it never reads them")


def importing(disk_format: str = "qcow2") -> Image:
    image = staging_image()
    image.disk_format = disk_format
    image.complete_staging(STAGED, T0)
    image.begin_import("task", ("file",), T0, brings_data=True)
    image.pending = []
    return image


def test_a_converted_import_activates_with_the_converted_disk() -> None:
    image = importing()
    image.complete_import(T0, Converted())
    formats, imported = (recorded.event for recorded in image.pending)
    assert formats == ImageUpdated(attributes={"disk_format": "raw", "container_format": "bare"})
    assert imported == ImageImported(
        size=1024, checksum="m", os_hash_algo="sha512", os_hash_value="s", virtual_size=1024
    )
    assert (image.status, image.disk_format, image.size) == (ImageStatus.ACTIVE, "raw", 1024)


def test_an_import_not_converted_activates_with_the_staged_bytes() -> None:
    image = importing("raw")
    image.complete_import(T0)
    [imported] = (recorded.event for recorded in image.pending)
    assert isinstance(imported, ImageImported)
    assert (imported.size, imported.checksum, image.disk_format) == (3, "c", "raw")


def test_injected_properties_are_one_change_without_glances_own() -> None:
    image = new_image(properties={"team": "ops"})
    image.pending = []
    image.inject_properties({"team": "ops", "region": "north", "os_glance_x": "y"}, T0)
    [injected] = (recorded.event for recorded in image.pending)
    assert injected == ImageUpdated(properties={"region": "north"})
    image.pending = []
    image.inject_properties({"region": "north"}, T0)
    assert image.pending == []  # nothing changes: nothing recorded


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in os.environ:
        if name.startswith("CATALOG_"):
            monkeypatch.delenv(name)
    return monkeypatch


def test_the_settings_read_glances_forms(environment: pytest.MonkeyPatch) -> None:
    environment.setenv("CATALOG_IMPORT_PLUGINS", "image_conversion, inject_image_metadata")
    environment.setenv("CATALOG_IMPORT_INJECT", "team:ops, url:http://x:1/")
    environment.setenv("CATALOG_IMPORT_INJECT_IGNORE_USER_ROLES", "admin,service")
    imports = read_settings().imports
    assert imports.enabled() == ("image_conversion", "inject_image_metadata")
    assert imports.injected() == {"team": "ops", "url": "http://x:1/"}
    assert imports.ignored_roles() == {"admin", "service"}
    assert imports.conversion_output_format == "raw"


@pytest.mark.parametrize(
    ("variable", "value", "line"),
    [
        (
            "CATALOG_IMPORT_PLUGINS",
            "image_conversion,no_op",
            "CATALOG_IMPORT_PLUGINS: unknown import plugins; known: image_conversion, "
            "inject_image_metadata",
        ),
        ("CATALOG_IMPORT_INJECT", ":ops", "CATALOG_IMPORT_INJECT: must be key:value pairs"),
        (
            "CATALOG_IMPORT_CONVERSION_OUTPUT_FORMAT",
            "vhd",
            "CATALOG_IMPORT_CONVERSION_OUTPUT_FORMAT: must be one of qcow2, raw, vmdk",
        ),
    ],
)
def test_a_mistake_names_its_variable(
    environment: pytest.MonkeyPatch, variable: str, value: str, line: str
) -> None:
    environment.setenv(variable, value)
    with pytest.raises(SettingsError) as raised:
        read_settings()
    assert raised.value.lines[0].startswith(line), raised.value.lines
