"""Validating callers' tokens against Keystone v3, as keystonemiddleware's auth_token does.

The catalog authenticates itself with its service credentials (a project-scoped token, renewed
before it expires or when Keystone stops accepting it), then asks `GET /v3/auth/tokens` with the
caller's token as `X-Subject-Token`. Keystone answers with the token's user, scope and effective
roles (implied roles included). Results are cached (`TokenCache`), and concurrent requests
carrying the same uncached token share one question to Keystone.

Written on aiohttp rather than on keystoneauth1 (which keystonemiddleware uses): keystoneauth1
is synchronous (requests), and every validation would hold a worker thread for a round trip to
Keystone; here it is one more await on the event loop.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aiohttp
import structlog

from infra.keystone.token_cache import TokenCache, token_key

log = structlog.get_logger(__name__)

SERVICE_TOKEN_MARGIN = 60.0
"""Seconds before its expiry at which the catalog's own token is renewed."""
MAX_TOKEN_LENGTH = 8192
"""Longer than any token Keystone issues (fernet tokens are under 255 characters, JWS a few
hundred): anything longer is refused without asking."""


class InvalidToken(Exception):
    """The token is unknown to Keystone, expired or revoked: the caller is not authenticated."""


class KeystoneUnavailable(Exception):
    """Keystone could not be asked (down, timing out, answering 5xx, or refusing the catalog's
    own credentials): nobody can be authenticated, and nobody is let through."""


@dataclass(frozen=True)
class KeystoneCredentials:
    """How the catalog authenticates itself to Keystone."""

    auth_url: str
    username: str
    password: str
    project_name: str
    user_domain_name: str = "Default"
    project_domain_name: str = "Default"

    @property
    def v3_url(self) -> str:
        return v3_root(self.auth_url)


def v3_root(url: str) -> str:
    """The identity v3 API's root, whether `url` names it or the server's root."""
    url = url.rstrip("/")
    return url if url.endswith("/v3") else f"{url}/v3"


@dataclass(frozen=True)
class TokenIdentity:
    """Who a valid token speaks for, and in which scope."""

    user_id: str
    user_domain_id: str | None
    roles: tuple[str, ...]
    """Effective role names, implied roles included."""
    expires_at: datetime
    project_id: str | None = None
    project_domain_id: str | None = None
    domain_id: str | None = None
    """Set for a domain-scoped token."""
    system_scope: str | None = None
    """"all" for a system-scoped token."""
    is_admin_project: bool = False


def identity_of(body: dict[str, Any]) -> TokenIdentity:
    """The identity in Keystone's answer to a token validation (`{"token": {...}}`)."""
    token = body["token"]
    user = token["user"]
    project = token.get("project") or {}
    system = token.get("system") or {}
    return TokenIdentity(
        user_id=user["id"],
        user_domain_id=(user.get("domain") or {}).get("id"),
        roles=tuple(role["name"].lower() for role in token.get("roles", ())),
        expires_at=parse_time(token["expires_at"]),
        project_id=project.get("id"),
        project_domain_id=(project.get("domain") or {}).get("id"),
        domain_id=(token.get("domain") or {}).get("id"),
        system_scope="all" if system.get("all") else None,
        is_admin_project=bool(token.get("is_admin_project", False)),
    )


def parse_time(text: str) -> datetime:
    """Keystone's ISO 8601 times (`2026-12-05T04:29:06.000000Z`), timezone-aware."""
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def password_auth(c: KeystoneCredentials) -> dict[str, Any]:
    """Keystone's request for a token scoped to `c`'s project, by `c`'s password."""
    user = {"name": c.username, "domain": {"name": c.user_domain_name}, "password": c.password}
    scope = {"project": {"name": c.project_name, "domain": {"name": c.project_domain_name}}}
    identity = {"methods": ["password"], "password": {"user": user}}
    return {"auth": {"identity": identity, "scope": scope}}


async def request_token(
    session: aiohttp.ClientSession, v3_url: str, body: dict[str, Any]
) -> tuple[int, dict[str, Any], str]:
    """Keystone's status, body (if it issued a token) and token for `POST /v3/auth/tokens`;
    `KeystoneUnavailable` if it could not be asked."""
    try:
        async with session.post(v3_url + "/auth/tokens", json=body) as r:
            answer = await r.json(content_type=None) if r.status == 201 else {}
            return r.status, answer, r.headers.get("X-Subject-Token", "")
    except (aiohttp.ClientError, TimeoutError, ValueError) as e:
        raise KeystoneUnavailable(f"Keystone could not be reached: {e!r}") from e


@dataclass(frozen=True)
class _ServiceToken:
    token: str
    renew_at: float
    """On the monotonic clock."""


class KeystoneTokens:
    """Validates tokens with Keystone, through a cache; one per process."""

    def __init__(
        self,
        credentials: KeystoneCredentials,
        *,
        cache_seconds: float,
        cache_size: int,
        timeout_seconds: float,
        monotonic: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.credentials = credentials
        self._cache_seconds = cache_seconds
        # A token Keystone refused is kept too, as the reason it was refused.
        self._cache: TokenCache[TokenIdentity | str] = TokenCache(cache_size, monotonic)
        self._in_flight: dict[str, asyncio.Future[TokenIdentity]] = {}
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._monotonic = monotonic
        self._now = now
        self._session: aiohttp.ClientSession | None = None
        self._service: _ServiceToken | None = None
        self._renewing = asyncio.Lock()

    async def validate(self, token: str) -> TokenIdentity:
        """The identity `token` speaks for; `InvalidToken` or `KeystoneUnavailable` otherwise."""
        if not (0 < len(token) <= MAX_TOKEN_LENGTH and token.isascii() and token.isprintable()):
            raise InvalidToken("the token is malformed")
        key = token_key(token)
        cached = self._cache.get(key)
        if isinstance(cached, str):
            raise InvalidToken(cached)
        if cached is not None:
            return cached
        pending = self._in_flight.get(key)
        if pending is None:
            pending = asyncio.ensure_future(self._validate_and_cache(key, token))
            self._in_flight[key] = pending
            pending.add_done_callback(lambda _: self._in_flight.pop(key, None))
        # Shielded: one caller going away must not cancel the answer the others wait for.
        return await asyncio.shield(pending)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _validate_and_cache(self, key: str, token: str) -> TokenIdentity:
        try:
            identity = await self._ask_keystone(token)
            remaining = (identity.expires_at - self._now()).total_seconds()
            if remaining <= 0:
                raise InvalidToken("the token has expired")
        except InvalidToken as e:
            self._cache.put(key, str(e), self._cache_seconds)
            raise
        self._cache.put(key, identity, min(self._cache_seconds, remaining))
        return identity

    async def _ask_keystone(self, token: str) -> TokenIdentity:
        for attempt in range(2):
            service_token = await self._service_token(renew=attempt > 0)
            headers = {"X-Auth-Token": service_token, "X-Subject-Token": token}
            status, body = await self._check_token(headers)
            if status == 200:
                try:
                    return identity_of(body)
                except (KeyError, TypeError, ValueError) as e:
                    raise KeystoneUnavailable(f"Keystone's answer is not a token: {e!r}") from e
            if status == 404:
                raise InvalidToken("the token is not valid")
            if status == 401 and attempt == 0:
                continue  # the catalog's own token was revoked or expired: get a new one
            if status in (401, 403):
                log.error("keystone_refused_catalog", status=status, user=self.credentials.username)
                raise KeystoneUnavailable(f"Keystone refused the catalog's credentials ({status})")
            raise KeystoneUnavailable(f"Keystone answered {status} to a token validation")
        raise AssertionError("unreachable")

    async def _service_token(self, *, renew: bool) -> str:
        async with self._renewing:
            current = self._service
            if current is not None and not renew and self._monotonic() < current.renew_at:
                return current.token
            self._service = await self._authenticate()
            return self._service.token

    async def _authenticate(self) -> _ServiceToken:
        c = self.credentials
        body = password_auth(c)
        status, answer, token = await request_token(self._client(), c.v3_url, body)
        if status != 201 or not token:
            log.error("keystone_refused_catalog", status=status, user=c.username)
            raise KeystoneUnavailable(f"Keystone refused the catalog's credentials ({status})")
        expires = parse_time(answer["token"]["expires_at"])
        lifetime = (expires - self._now()).total_seconds()
        return _ServiceToken(token, self._monotonic() + max(lifetime - SERVICE_TOKEN_MARGIN, 0.0))

    async def _check_token(self, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
        session = self._client()
        try:
            async with session.get(self.credentials.v3_url + "/auth/tokens", headers=headers) as r:
                answer = await r.json(content_type=None) if r.status == 200 else {}
                return r.status, answer
        except (aiohttp.ClientError, TimeoutError, ValueError) as e:
            raise KeystoneUnavailable(f"Keystone could not be reached: {e!r}") from e

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        return self._session
