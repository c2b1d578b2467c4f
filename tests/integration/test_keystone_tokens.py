"""Validating tokens against the real local Keystone, with the catalog's service credentials."""

from __future__ import annotations

import asyncio

import pytest

from infra.keystone.tokens import (
    InvalidToken,
    KeystoneCredentials,
    KeystoneTokens,
    KeystoneUnavailable,
    TokenIdentity,
)
from tests.keystone_accounts import KeystoneAdmin, catalog_credentials

pytestmark = pytest.mark.keystone


def validator(credentials: KeystoneCredentials | None = None, **options: float) -> KeystoneTokens:
    settings = {"cache_seconds": 300.0, "cache_size": 100, "timeout_seconds": 10.0, **options}
    return KeystoneTokens(
        credentials or catalog_credentials(),
        cache_seconds=settings["cache_seconds"],
        cache_size=int(settings["cache_size"]),
        timeout_seconds=settings["timeout_seconds"],
    )


class CountingTokens(KeystoneTokens):
    """Counts the questions that reach Keystone."""

    asked = 0

    async def _ask_keystone(self, token: str) -> TokenIdentity:
        self.asked += 1
        return await super()._ask_keystone(token)


async def test_a_project_token_gives_its_user_project_and_effective_roles(
    admin: KeystoneAdmin,
) -> None:
    account = await admin.account("admin")
    tokens = validator()
    try:
        identity = await tokens.validate(await admin.token_of(account))
    finally:
        await tokens.close()
    assert identity.user_id == account.user_id
    assert identity.project_id == account.project_id
    assert identity.user_domain_id == identity.project_domain_id == "default"
    assert identity.system_scope is None
    # Keystone's implied roles: admin implies manager, member and reader.
    assert {"admin", "manager", "member", "reader"} <= set(identity.roles)


async def test_a_system_token_says_so(admin: KeystoneAdmin) -> None:
    account = await admin.account("reader")
    await admin.grant_system_role(account, "reader")
    tokens = validator()
    try:
        identity = await tokens.validate(
            await admin.system_token(account.user_name, account.password)
        )
    finally:
        await tokens.close()
    assert identity.system_scope == "all"
    assert identity.project_id is None
    assert "reader" in identity.roles


@pytest.mark.parametrize("token", ["gAAAAABnot-a-token", "x" * 9000, "bad\x7ftoken", "tökén"])
async def test_a_token_keystone_does_not_know_is_invalid(token: str) -> None:
    tokens = validator()
    try:
        with pytest.raises(InvalidToken):
            await tokens.validate(token)
    finally:
        await tokens.close()


async def test_a_revoked_token_is_refused_once_its_cache_entry_ends(admin: KeystoneAdmin) -> None:
    account = await admin.account("member")
    token = await admin.token_of(account)
    cached, uncached = validator(), validator(cache_seconds=0)
    try:
        await cached.validate(token)
        await uncached.validate(token)
        await admin.revoke(token)
        # As with keystonemiddleware, a validated token is trusted until its entry ends.
        assert (await cached.validate(token)).user_id == account.user_id
        with pytest.raises(InvalidToken):
            await uncached.validate(token)
    finally:
        await cached.close()
        await uncached.close()


async def test_keystone_is_asked_once_per_token_even_by_concurrent_requests(
    admin: KeystoneAdmin,
) -> None:
    account = await admin.account("member")
    token = await admin.token_of(account)
    tokens = CountingTokens(
        catalog_credentials(), cache_seconds=300, cache_size=100, timeout_seconds=10
    )
    try:
        identities = await asyncio.gather(*(tokens.validate(token) for _ in range(20)))
        identities.append(await tokens.validate(token))
        with pytest.raises(InvalidToken):
            await tokens.validate("gAAAAABunknown")
        with pytest.raises(InvalidToken):
            await tokens.validate("gAAAAABunknown")
    finally:
        await tokens.close()
    assert {i.user_id for i in identities} == {account.user_id}
    assert tokens.asked == 2  # one per distinct token, refused ones included


async def test_wrong_service_credentials_let_nobody_through(admin: KeystoneAdmin) -> None:
    account = await admin.account("member")
    tokens = validator(catalog_credentials(password="not-the-password"))
    try:
        with pytest.raises(KeystoneUnavailable):
            await tokens.validate(await admin.token_of(account))
    finally:
        await tokens.close()


async def test_an_unreachable_keystone_lets_nobody_through(unused_tcp_port: int) -> None:
    url = f"http://127.0.0.1:{unused_tcp_port}/v3"
    tokens = validator(catalog_credentials(auth_url=url), timeout_seconds=5)
    try:
        with pytest.raises(KeystoneUnavailable):
            await tokens.validate("gAAAAABanything")
    finally:
        await tokens.close()
