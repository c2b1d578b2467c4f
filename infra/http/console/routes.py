"""The console's routes, and what it is told of how callers sign in (`config.json`)."""

from __future__ import annotations

from aiohttp import web

from infra.http.console import CONFIG_NAME, CONSOLE_PATH, SIGN_IN_NAME
from infra.http.console.files import (
    CONSOLE_FILES,
    index,
    load_files,
    secured,
    shipped_file,
    to_console,
)
from infra.http.console.sign_in import KEYSTONE_SIGN_IN, KeystoneSignIn, sign_in
from infra.http.requests import reject_body
from infra.settings import Settings

CONSOLE_CONFIG = web.AppKey("console_config", dict[str, object])


def console_config(settings: Settings) -> dict[str, object]:
    """How the console's callers say who they are: `auth_mode` as the API's, and where
    Keystone is (its public address only, never the catalog's own account)."""
    keystone = settings.api.auth_mode == "keystone"
    return {
        "auth_mode": settings.api.auth_mode,
        "keystone_url": settings.keystone.auth_url if keystone else None,
    }


async def config(request: web.Request) -> web.Response:
    reject_body(request)
    return secured(web.json_response(request.app[CONSOLE_CONFIG]))


def add_console_routes(app: web.Application, settings: Settings) -> None:
    app[CONSOLE_FILES] = load_files()
    app[CONSOLE_CONFIG] = console_config(settings)
    if settings.api.auth_mode == "keystone":
        app[KEYSTONE_SIGN_IN] = KeystoneSignIn(settings.keystone)
    r = app.router
    r.add_get(CONSOLE_PATH, to_console, allow_head=False)
    r.add_get(CONSOLE_PATH + "/", index, allow_head=False)
    r.add_get(f"{CONSOLE_PATH}/{CONFIG_NAME}", config, allow_head=False)
    r.add_post(f"{CONSOLE_PATH}/{SIGN_IN_NAME}", sign_in)
    r.add_get(CONSOLE_PATH + "/{name}", shipped_file, allow_head=False)
