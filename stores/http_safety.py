"""Which addresses an http(s) location may reach: public ones, and networks an operator allows.

A location URL comes from a user, and the catalog fetches it from inside the cloud: without this
check it could read the metadata service (169.254.169.254), loopback services or the private
network (server-side request forgery). The check is made on every address a connection is about
to use, after name resolution and on every redirect, so DNS tricks and redirects cannot get round
it; numeric forms (`2130706433`, `0x7f.1`) resolve to the addresses they mean and are checked too.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

from stores.errors import InvalidLocation

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class AddressPolicy:
    """Public addresses pass; loopback, link-local, private, multicast, reserved and
    unspecified ones only inside `allowed_networks`."""

    def __init__(self, allowed_networks: Iterable[str | IPNetwork] = ()) -> None:
        self.allowed: tuple[IPNetwork, ...] = tuple(
            ipaddress.ip_network(n, strict=False) if isinstance(n, str) else n
            for n in allowed_networks
        )

    def check(self, address: IPAddress, host: str) -> None:
        """`InvalidLocation` unless a connection to `address` (for `host`) is allowed."""
        if any(address in network for network in self.allowed):
            return
        reason = _special_kind(address)
        if reason is not None:
            raise InvalidLocation(
                f"the location's host {host} resolves to {reason} address; not allowed"
            )


def _special_kind(address: IPAddress) -> str | None:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return _special_kind(address.ipv4_mapped)
    kinds = (
        ("an unspecified", address.is_unspecified),
        ("a loopback", address.is_loopback),
        ("a link-local", address.is_link_local),
        ("a multicast", address.is_multicast),
        ("a private", address.is_private),
        ("a reserved", address.is_reserved),
        ("a non-public", not address.is_global),
    )
    return next((kind for kind, applies in kinds if applies), None)


def literal_address(host: str) -> IPAddress | None:
    """The address a host written as an IP literal names (brackets allowed), else None."""
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


class CheckedResolver(AbstractResolver):
    """Name resolution that refuses a host if any of its addresses is not allowed."""

    def __init__(self, policy: AddressPolicy) -> None:
        self._policy = policy
        self._resolver = DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        try:
            results = await self._resolver.resolve(host, port, family)
        except OSError as e:
            raise InvalidLocation(f"the location's host {host} cannot be resolved") from e
        for result in results:
            self._policy.check(ipaddress.ip_address(result["host"]), host)
        return results

    async def close(self) -> None:
        await self._resolver.close()
