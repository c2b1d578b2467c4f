"""Which addresses an http(s) location may reach: public ones, and networks an operator allows.

A location URL comes from a user, and the catalog fetches it from inside the cloud: without this
check it could read the metadata service (169.254.169.254), loopback services or the private
network (server-side request forgery). The check is made on every address a connection is about
to use, after name resolution and on every redirect, so DNS tricks and redirects cannot get round
it. Hosts written as addresses never reach a resolver, so they are checked before any request, in
every numeric form the system would accept (`2130706433`, `0x7f.1`, `127.1`).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver

from stores.errors import InvalidLocation, StoreUnavailable

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# IPv6 addresses that carry an IPv4 address a packet ends up at: the NAT64 well-known prefix
# (RFC 6052). IPv4-mapped and 6to4 addresses are recognised by `ipaddress` itself.
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")

# Resolver answers that mean the name has no address, as opposed to the resolver failing now.
_NO_SUCH_NAME = frozenset(
    getattr(socket, name)
    for name in ("EAI_NONAME", "EAI_NODATA", "EAI_ADDRFAMILY")
    if hasattr(socket, name)
)


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
        target = _ipv4_behind(address)
        if any(a in network for a in {address, target} for network in self.allowed):
            return
        reason = _special_kind(target)
        if reason is not None:
            raise InvalidLocation(
                f"the location's host {host} resolves to {reason} address; not allowed"
            )

    def check_host(self, host: str) -> None:
        """`InvalidLocation` if `host` is written as an address that is not allowed, or in a form
        that could reach one without a check; a name is left to `CheckedResolver`."""
        addresses = numeric_addresses(host)
        if addresses is None:
            # aiohttp takes hosts made of digits and dots, or with a colon, for addresses and
            # hands them to the system without its resolver; the system might then look up a
            # name that is not numeric after all (with the search domains), unchecked.
            if ":" in host or host.replace(".", "").isdigit():
                raise InvalidLocation(f"the location's host {host} is not a valid IP address")
            return
        for address in addresses:
            self.check(address, host)
        if literal_address(host) is None:
            # Allowed, but some aiohttp versions refuse such forms and others connect to them:
            # one canonical spelling keeps the behaviour the same everywhere.
            canonical = ", ".join(sorted(str(a) for a in addresses))
            raise InvalidLocation(f"the location's host {host} must be written as {canonical}")


def _ipv4_behind(address: IPAddress) -> IPAddress:
    """The IPv4 address that packets to `address` are delivered to, if it embeds one."""
    if isinstance(address, ipaddress.IPv4Address):
        return address
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address


def _special_kind(address: IPAddress) -> str | None:
    kinds = (
        ("an unspecified", address.is_unspecified),
        ("a loopback", address.is_loopback),
        ("a link-local", address.is_link_local),
        ("a multicast", address.is_multicast),
        ("a private", address.is_private),
        ("a site-local", isinstance(address, ipaddress.IPv6Address) and address.is_site_local),
        ("a reserved", address.is_reserved),
        ("a non-public", not address.is_global),
    )
    return next((kind for kind, applies in kinds if applies), None)


def literal_address(host: str) -> IPAddress | None:
    """The address a host written as a canonical IP literal names (brackets allowed), else None."""
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def numeric_addresses(host: str) -> tuple[IPAddress, ...] | None:
    """The addresses the system would connect to for a host written as an address, in any form
    it accepts (`127.0.0.1`, `2130706433`, `0x7f.1`); None if `host` is a name."""
    literal = literal_address(host)
    if literal is not None:
        return (literal,)
    try:
        # Only parses the text (no lookup is made), the way the C library's own lookup does.
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM, flags=socket.AI_NUMERICHOST)
    except (OSError, ValueError):
        return None
    return tuple(ipaddress.ip_address(info[4][0]) for info in infos)


class CheckedResolver(AbstractResolver):
    """Name resolution that refuses a host if any of its addresses is not allowed.

    It asks the system's resolver (as a plain socket would), so what is checked is what a client
    without this check would reach; aiohttp then connects to exactly these checked addresses.
    """

    def __init__(self, policy: AddressPolicy, resolver: AbstractResolver | None = None) -> None:
        self._policy = policy
        self._resolver = resolver or ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_UNSPEC
    ) -> list[ResolveResult]:
        """The addresses of `host`, all of them allowed; else `InvalidLocation`.

        `StoreUnavailable` if the resolver fails for a reason that may pass (no answer yet).
        """
        try:
            results = await self._resolver.resolve(host, port, family)
        except OSError as e:
            if e.errno in _NO_SUCH_NAME:
                raise InvalidLocation(f"the location's host {host} cannot be resolved") from e
            raise StoreUnavailable(f"the location's host {host} cannot be resolved now") from e
        for result in results:
            self._policy.check(_address_of(result, host), host)
        return results

    async def close(self) -> None:
        await self._resolver.close()


def _address_of(result: ResolveResult, host: str) -> IPAddress:
    try:
        return ipaddress.ip_address(result["host"])
    except ValueError:
        raise InvalidLocation(f"the location's host {host} resolves to no usable address") from None
