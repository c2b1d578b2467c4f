"""Each configured store's options, read from `CATALOG_STORE_<NAME>_<OPTION>`.

A store called `objects` with the s3 driver reads `CATALOG_STORE_OBJECTS_ENDPOINT`,
`CATALOG_STORE_OBJECTS_BUCKET`, and so on. Names are upper-cased and `-` becomes `_`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from infra.operator_errors import SettingsError
from infra.setting_values import Networks, listed

# Glance reserves `os_glance_` for its own internal stores; a name also becomes part of an
# environment variable and of URLs (`/v2/stores/{name}/…`).
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")


def check_store_name(name: str) -> str:
    if not _NAME.fullmatch(name) or name.startswith("os_glance_"):
        raise SettingsError(
            f"CATALOG_STORES: invalid store name {name!r}: letters, digits, '-' and '_', "
            "at most 64, not starting with os_glance_"
        )
    return name


class StoreOptions(BaseSettings):
    """What every store has, whatever its driver."""

    model_config = SettingsConfigDict(use_attribute_docstrings=True)

    description: str = ""
    """Shown in `GET /v2/info/stores`."""
    weight: int = 0
    """Preference when an image has data in several stores: the highest is read first."""


class FilesystemOptions(StoreOptions):
    dir: Path | None = None
    """The folder of the image files; unset: `<data dir>/stores/<name>`."""
    direct_io: bool = True
    """Write new image files around the page cache (O_DIRECT) where the filesystem allows it:
    less CPU per byte stored, and uploads do not push other data out of memory."""


class S3Options(StoreOptions):
    endpoint: str | None = None
    """The endpoint URL; unset: AWS's."""
    access_key: str = ""
    """The access key; empty: botocore finds credentials itself."""
    secret_key: str = Field(default="", repr=False)
    """The secret key going with it."""
    bucket: str = "images"
    """The bucket of the image data, created on first use if it does not exist."""
    region: str = "us-east-1"
    """The bucket's region."""
    multipart_threshold_mib: int = Field(default=16, ge=0)
    """Objects larger than this go up in parts."""
    part_size_mib: int = Field(default=16, ge=5)
    """The size of those parts; an upload holds about two in memory."""


class HttpOptions(StoreOptions):
    allowed_networks: Networks = ""
    """Comma-separated networks (CIDR) that locations may reach even though they are loopback,
    link-local or private; by default no such address is reachable."""

    def networks(self) -> list[str]:
        return listed(self.allowed_networks)


OPTIONS_OF_DRIVER: dict[str, type[StoreOptions]] = {
    "file": FilesystemOptions,
    "s3": S3Options,
    "http": HttpOptions,
}


def env_prefix(name: str) -> str:
    return f"CATALOG_STORE_{name.upper().replace('-', '_')}_"


def read_options(name: str, driver: str, given: dict[str, Any] | None = None) -> StoreOptions:
    """The options of store `name`: `given` values first, then the environment, then defaults;
    a `SettingsError` names each mistake."""
    options_class = OPTIONS_OF_DRIVER.get(driver)
    if options_class is None:
        known = ", ".join(OPTIONS_OF_DRIVER)
        raise SettingsError(
            f"CATALOG_STORES: store {name!r}: unknown driver {driver!r}; known: {known}"
        )
    prefix = env_prefix(check_store_name(name))
    try:
        return options_class(_env_prefix=prefix, **(given or {}))
    except ValidationError as e:
        raise SettingsError.of(e, options_class, prefix) from None
