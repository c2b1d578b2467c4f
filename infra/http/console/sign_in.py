"""Signing in to the console with Keystone: a user's name, password and project exchanged for
a project-scoped token, which the browser then sends as `X-Auth-Token` on every API call.

The exchange happens here rather than in the browser because Keystone usually lives on another
origin, and a browser may only read its answer (and the `X-Subject-Token` header) where Keystone
allows this console's origin by CORS. The password is passed on and kept nowhere.
"""

from __future__ import annotations

from typing import Any

import aiohttp
from aiohttp import web

from catalog.errors import BadRequest, NotFound, ServiceUnavailable
from infra.http.console.files import secured
from infra.http.errors import error_response
from infra.http.requests import json_body
from infra.keystone.tokens import (
    KeystoneCredentials,
    KeystoneUnavailable,
    password_auth,
    request_token,
    v3_root,
)
from infra.settings import KeystoneSettings

FIELDS = ("username", "password", "project")
FIELD_LENGTH_LIMIT = 255


class KeystoneSignIn:
    """Asks Keystone for users' tokens."""

    def __init__(self, keystone: KeystoneSettings) -> None:
        self.v3_url = v3_root(str(keystone.auth_url))
        self.timeout = aiohttp.ClientTimeout(total=keystone.timeout_seconds)

    async def token(self, given: KeystoneCredentials) -> tuple[int, dict[str, Any], str]:
        # One session per sign-in: they are rare, and nothing is kept between them.
        async with aiohttp.ClientSession(timeout=self.timeout) as session:
            return await request_token(session, self.v3_url, password_auth(given))


KEYSTONE_SIGN_IN = web.AppKey("console_sign_in", KeystoneSignIn)
"""Set only in the `keystone` auth mode."""


def _credentials(document: Any, v3_url: str) -> KeystoneCredentials:
    if not isinstance(document, dict):
        raise BadRequest("The sign-in body must be a JSON object.")
    for name in (*FIELDS, "domain"):
        value = document.get(name)
        if name in FIELDS and not value:
            raise BadRequest(f"The sign-in needs a {name}.")
        if value is not None and not isinstance(value, str):
            raise BadRequest(f"The {name} must be a string.")
        if value is not None and len(value) > FIELD_LENGTH_LIMIT:
            raise BadRequest(f"The {name} is longer than {FIELD_LENGTH_LIMIT} characters.")
    domain = document.get("domain") or "Default"
    return KeystoneCredentials(
        auth_url=v3_url,
        username=document["username"],
        password=document["password"],
        project_name=document["project"],
        user_domain_name=domain,
        project_domain_name=domain,
    )


def _signed_in(token: str, answer: dict[str, Any]) -> dict[str, Any]:
    issued = answer["token"]
    return {
        "token": token,
        "expires_at": issued["expires_at"],
        "user": {"id": issued["user"]["id"], "name": issued["user"]["name"]},
        "project": {"id": issued["project"]["id"], "name": issued["project"]["name"]},
        "roles": [role["name"] for role in issued.get("roles", ())],
    }


async def sign_in(request: web.Request) -> web.Response:
    """POST /console/sign-in: `{"username", "password", "project", "domain"?}` → a token."""
    keystone = request.app.get(KEYSTONE_SIGN_IN)
    if keystone is None:
        raise NotFound("The catalog does not authenticate with Keystone: there is no sign-in.")
    given = _credentials(await json_body(request), keystone.v3_url)
    try:
        status, answer, token = await keystone.token(given)
    except KeystoneUnavailable as e:
        raise ServiceUnavailable("The identity service is not available; try again later.") from e
    if status >= 500:
        raise ServiceUnavailable("The identity service is not available; try again later.")
    if status != 201 or not token:
        message = "Keystone did not accept this user name, password and project."
        return secured(error_response(request, 401, message))
    try:
        signed_in = _signed_in(token, answer)
    except (KeyError, TypeError) as e:
        raise ServiceUnavailable("The identity service answered with no project token.") from e
    return secured(web.json_response(signed_in, status=201))
