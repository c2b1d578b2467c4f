"""Who is asking, by the API's auth mode (`CATALOG_API_AUTH_MODE`).

- `noauth` and `trusted-headers`: the identity headers keystonemiddleware passes on
  (`X-Project-Id`, `X-User-Id`, `X-Roles`, ...) are taken as they come, for deployments that
  authenticate in front of the catalog; `noauth` also lets a request without any act as the
  default project with every role (the embedded catalog).
- `keystone`: the catalog validates `X-Auth-Token` (and a service's `X-Service-Token`) with
  Keystone itself (`infra/keystone/tokens.py`); identity headers sent by the client are
  ignored. As behind keystonemiddleware, a missing, invalid or expired token is a 401 naming
  where to get one, and only `OPEN_PATHS` need none (the version documents, the health
  check, the API's description and the web console's files).
"""

from __future__ import annotations

import json
from typing import Protocol
from urllib.parse import unquote

from aiohttp import web

from catalog.errors import BadRequest, ServiceUnavailable
from catalog.identity import Actor
from infra.http.client_text import refuse_unstorable, text_header
from infra.http.console import console_paths
from infra.http.openapi import OPENAPI_PATH
from infra.http.views import healthcheck
from infra.keystone.tokens import InvalidToken, KeystoneTokens, KeystoneUnavailable, TokenIdentity
from infra.metrics import METRICS_PATH
from infra.settings import MetricsSettings, Settings

ALL_ROLES = ("admin", "member", "reader")
# Keystone's ids have 64 characters at most; a project becomes an image's owner, kept (as in
# Glance's database) in 255.
ID_LENGTH_LIMIT = 255
OPEN_PATHS = frozenset({"/", "/versions", healthcheck.PATH, OPENAPI_PATH}) | console_paths()
"""Served without a token, as Glance serves them before its authentication (and the API's
description and the web console's files, which say nothing of any caller's data)."""


class NotAuthenticated(Exception):
    """No valid token: the answer is a 401 that says where to authenticate."""

    def __init__(self, response: web.Response) -> None:
        super().__init__("not authenticated")
        self.response = response


class Authentication(Protocol):
    """How one auth mode finds out who is asking."""

    async def actor(self, request: web.Request) -> Actor:
        """The caller; `NotAuthenticated`, `BadRequest` or `ServiceUnavailable` otherwise."""
        ...


def _roles(value: str) -> tuple[str, ...]:
    # python-glanceclient percent-encodes the list; keystonemiddleware sends it plain.
    roles = unquote(value)
    refuse_unstorable(roles, "The X-Roles header")
    return tuple(r.strip().lower() for r in roles.split(",") if r.strip())


def _identity(request: web.Request, name: str) -> str | None:
    value = text_header(request, name)
    if value is not None and len(value) > ID_LENGTH_LIMIT:
        raise BadRequest(f"The {name} header is longer than {ID_LENGTH_LIMIT} characters.")
    return value or None


class TrustedHeaders:
    """Identity from the headers keystonemiddleware sets, trusted as they come."""

    def __init__(self, *, default_actor: Actor | None = None) -> None:
        self._default = default_actor
        """The caller of a request without any identity header (`noauth`); None: anonymous."""

    async def actor(self, request: web.Request) -> Actor:
        project = _identity(request, "X-Project-Id") or _identity(request, "X-Tenant-Id")
        user = _identity(request, "X-User-Id")
        roles = _roles(request.headers.get("X-Roles", ""))
        if self._default is not None and project is None and user is None and not roles:
            return self._default
        return Actor(
            user_id=user,
            project_id=project,
            roles=roles,
            user_domain_id=_identity(request, "X-User-Domain-Id"),
            project_domain_id=_identity(request, "X-Project-Domain-Id"),
            domain_id=_identity(request, "X-Domain-Id"),
            system_scope=_identity(request, "OpenStack-System-Scope"),
            service_roles=_roles(request.headers.get("X-Service-Roles", "")),
        )


class KeystoneAuthentication:
    """Identity from tokens Keystone vouches for."""

    def __init__(self, tokens: KeystoneTokens, open_paths: frozenset[str] = OPEN_PATHS) -> None:
        self._tokens = tokens
        self._open_paths = open_paths
        self._challenge = {"WWW-Authenticate": f'Keystone uri="{tokens.credentials.auth_url}"'}

    async def actor(self, request: web.Request) -> Actor:
        if request.path in self._open_paths:
            return Actor()
        token = request.headers.get("X-Auth-Token") or request.headers.get("X-Storage-Token")
        if not token:
            raise NotAuthenticated(self.unauthorized())
        user = await self._validated(token)
        service_roles: tuple[str, ...] = ()
        service_token = request.headers.get("X-Service-Token")
        if service_token:
            # As keystonemiddleware: an invalid service token fails the whole request.
            service_roles = (await self._validated(service_token)).roles
        return Actor(
            user_id=user.user_id,
            project_id=user.project_id,
            roles=user.roles,
            user_domain_id=user.user_domain_id,
            project_domain_id=user.project_domain_id,
            domain_id=user.domain_id,
            system_scope=user.system_scope,
            service_roles=service_roles,
        )

    async def _validated(self, token: str) -> TokenIdentity:
        try:
            return await self._tokens.validate(token)
        except InvalidToken as e:
            raise NotAuthenticated(self.unauthorized()) from e
        except KeystoneUnavailable as e:
            # Never let a request through on a token nobody could check.
            raise ServiceUnavailable(
                "The identity service is not available; try again later."
            ) from e

    def unauthorized(self) -> web.Response:
        """keystonemiddleware's answer to a request without a valid token."""
        error = {
            "code": 401,
            "title": "Unauthorized",
            "message": "The request you have made requires authentication.",
        }
        return web.Response(
            status=401,
            text=json.dumps({"error": error}),
            content_type="application/json",
            headers=self._challenge,
        )


AUTHENTICATION = web.AppKey("authentication", Authentication)


def open_paths(metrics: MetricsSettings) -> frozenset[str]:
    """The paths served without a token: `/metrics` too where anyone may read it."""
    if metrics.bind is None and metrics.access == "anyone":
        return OPEN_PATHS | {METRICS_PATH}
    return OPEN_PATHS


def install_authentication(app: web.Application, settings: Settings) -> None:
    """Give `app` the authentication its auth mode asks for (Keystone's client closes with it)."""
    api = settings.api
    if api.auth_mode == "keystone":
        keystone = settings.keystone
        tokens = KeystoneTokens(
            keystone.credentials(),
            cache_seconds=keystone.cache_seconds,
            cache_size=keystone.cache_size,
            timeout_seconds=keystone.timeout_seconds,
        )

        async def close(_: web.Application) -> None:
            await tokens.close()

        app[AUTHENTICATION] = KeystoneAuthentication(tokens, open_paths(settings.metrics))
        app.on_cleanup.append(close)
        return
    default = None
    if api.auth_mode == "noauth":
        default = Actor(user_id=api.default_user, project_id=api.default_project, roles=ALL_ROLES)
    app[AUTHENTICATION] = TrustedHeaders(default_actor=default)
