"""Kinds of value that several settings take, read and checked the same way wherever they
appear: in a concern's settings (infra/settings.py) or in a store's options
(infra/store_options.py)."""

from __future__ import annotations

import ipaddress
from typing import Annotated

from pydantic import AfterValidator


def listed(text: str) -> list[str]:
    """The items of a comma-separated setting, without blanks."""
    return [item.strip() for item in text.split(",") if item.strip()]


def _checked_networks(text: str) -> str:
    """`text` if it lists addresses or networks (CIDR), comma-separated; else `ValueError`."""
    for entry in listed(text):
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            raise ValueError(
                f"{entry!r} is not an address or a network (CIDR); "
                "expected e.g. 10.0.0.5,192.168.10.0/24"
            ) from None
    return text


Networks = Annotated[str, AfterValidator(_checked_networks)]
"""Addresses or networks (CIDR), comma-separated, e.g. `10.0.0.5,192.168.10.0/24`."""
