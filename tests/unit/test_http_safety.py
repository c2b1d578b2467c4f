"""Which addresses the http store may connect to, decided before any connection is made."""

from __future__ import annotations

import socket

import pytest
from aiohttp.abc import AbstractResolver, ResolveResult

from stores.errors import InvalidLocation, StoreUnavailable
from stores.http_safety import AddressPolicy, CheckedResolver, numeric_addresses


@pytest.mark.parametrize(
    ("host", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("[::1]", "loopback"),
        ("0.0.0.0", "unspecified"),
        ("169.254.169.254", "link-local"),
        ("[fe80::1]", "link-local"),
        ("10.0.0.1", "private"),
        ("172.16.5.4", "private"),
        ("192.168.1.1", "private"),
        ("[fd00::1]", "private"),
        ("224.0.0.1", "multicast"),
        ("[fec0::1]", "site-local"),
        ("240.0.0.1", "private"),
        ("100.64.0.1", "non-public"),
        # IPv6 forms whose packets reach an IPv4 address: mapped, 6to4, NAT64.
        ("[::ffff:127.0.0.1]", "loopback"),
        ("[::ffff:a9fe:a9fe]", "link-local"),
        ("[2002:7f00:1::]", "loopback"),
        ("[64:ff9b::a00:1]", "private"),
        # Numeric forms the C library accepts for 127.0.0.1 and 0.0.0.0.
        ("2130706433", "loopback"),
        ("0x7f.1", "loopback"),
        ("0x7f000001", "loopback"),
        ("127.1", "loopback"),
        ("0177.0.0.1", "loopback"),
        ("0", "unspecified"),
    ],
)
def test_internal_addresses_are_refused_in_any_spelling(host: str, kind: str) -> None:
    with pytest.raises(InvalidLocation, match=f"resolves to an? {kind} address; not allowed"):
        AddressPolicy().check_host(host)


@pytest.mark.parametrize("host", ["8.8.8.8", "[2001:4860:4860::8888]", "[64:ff9b::808:808]"])
def test_public_addresses_pass(host: str) -> None:
    AddressPolicy().check_host(host)


def test_names_are_left_to_the_resolver() -> None:
    assert numeric_addresses("images.example.org") is None
    AddressPolicy().check_host("images.example.org")


@pytest.mark.parametrize("host", ["1.2.3.4.5", "99999999999", "08.0.0.1"])
def test_hosts_that_look_numeric_but_are_no_address_are_refused(host: str) -> None:
    # aiohttp would hand them to the system as addresses, and the system look them up as names.
    with pytest.raises(InvalidLocation, match="is not a valid IP address"):
        AddressPolicy().check_host(host)


def test_allowed_networks_open_their_addresses_and_only_those() -> None:
    policy = AddressPolicy(["127.0.0.0/8", "fd00::/8"])
    policy.check_host("127.0.0.2")
    policy.check_host("[::ffff:127.0.0.2]")  # the same address, IPv4-mapped
    policy.check_host("[fd12::1]")
    with pytest.raises(InvalidLocation, match="private"):
        policy.check_host("10.0.0.1")
    with pytest.raises(InvalidLocation, match="loopback"):
        policy.check_host("[::1]")


def test_an_allowed_address_in_a_legacy_spelling_is_still_refused() -> None:
    with pytest.raises(InvalidLocation, match=r"must be written as 127\.0\.0\.1"):
        AddressPolicy(["127.0.0.0/8"]).check_host("2130706433")


class _Answers(AbstractResolver):
    """A resolver with fixed answers, or a fixed failure."""

    def __init__(self, *addresses: str, error: OSError | None = None) -> None:
        self.addresses = addresses
        self.error = error

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_UNSPEC
    ) -> list[ResolveResult]:
        if self.error is not None:
            raise self.error
        return [
            ResolveResult(hostname=host, host=a, port=port, family=family, proto=0, flags=0)
            for a in self.addresses
        ]

    async def close(self) -> None:
        pass


async def test_a_name_is_refused_if_any_of_its_addresses_is_not_allowed() -> None:
    resolver = CheckedResolver(AddressPolicy(), _Answers("8.8.8.8", "10.1.2.3"))
    with pytest.raises(InvalidLocation, match=r"images\.example\.org resolves to a private"):
        await resolver.resolve("images.example.org")
    ok = CheckedResolver(AddressPolicy(), _Answers("8.8.8.8", "2001:4860:4860::8888"))
    assert [r["host"] for r in await ok.resolve("dns.example")] == [
        "8.8.8.8",
        "2001:4860:4860::8888",
    ]


async def test_a_missing_name_is_invalid_but_a_failing_resolver_is_unavailable() -> None:
    missing = socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    with pytest.raises(InvalidLocation, match=r"cannot be resolved$"):
        await CheckedResolver(AddressPolicy(), _Answers(error=missing)).resolve("nowhere.invalid")
    later = socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")
    with pytest.raises(StoreUnavailable, match="cannot be resolved now"):
        await CheckedResolver(AddressPolicy(), _Answers(error=later)).resolve("dns.example")
