"""The web console's files and settings as the server answers them (what runs in the browser
is tested in tests/e2e/test_console_browser.py): open to anyone, with the headers that keep a
browser to the console's own scripts; a file it does not ship is a Glance-style 404; the
sign-in with Keystone refuses what it cannot use, and says nothing of the catalog's account."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.http.console import shipped_files
from infra.http.console.files import MEDIA_TYPES
from infra.settings import ApiSettings
from tests.integration.conftest import (
    JSON,
    ApiBuilder,
    ApiClient,
    embedded_settings,
    refused_without_change,
)
from tests.integration.test_api_keystone import keystone_settings
from tests.keystone_accounts import KeystoneAdmin, keystone_url
from tests.serving import unused_port


async def test_every_shipped_file_is_served_with_the_console_s_security_headers(
    api: ApiClient,
) -> None:
    assert {"index.html", "app.js", "console.css"} <= set(shipped_files())
    for name in ("", *shipped_files()):
        response = await api.get(f"/console/{name}")
        assert response.status == 200, name
        assert response.content_type == MEDIA_TYPES[Path(name or "index.html").suffix]
        policy = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in policy
        assert "default-src 'none'" in policy
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["x-openstack-request-id"].startswith("req-")


async def test_the_console_without_its_slash_is_redirected(api: ApiClient) -> None:
    response = await api.get("/console", allow_redirects=False)
    assert response.status == 301
    assert response.headers["Location"] == "console/"


async def test_a_file_the_console_does_not_ship_is_not_found(api: ApiClient) -> None:
    for name in ("nothing.js", "..%2fpyproject.toml", "__init__.py"):
        response = await api.get(f"/console/{name}", headers={"Accept": "application/json"})
        assert response.status == 404, name
        assert (await response.json())["message"].startswith("The console has no file")


async def test_the_settings_say_how_callers_sign_in(tmp_path: Path, api_for: ApiBuilder) -> None:
    trusted, _ = await api_for(
        embedded_settings(tmp_path, api=ApiSettings(auth_mode="trusted-headers"))
    )
    response = await trusted.get("/console/config.json")
    assert await response.json() == {"auth_mode": "trusted-headers", "keystone_url": None}


async def test_there_is_no_sign_in_without_keystone(api: ApiClient) -> None:
    given = {"username": "u", "password": "p", "project": "x"}
    response = await api.post("/console/sign-in", json=given, headers=JSON)
    assert response.status == 404
    assert "does not authenticate with Keystone" in (await response.json())["message"]


@pytest.mark.keystone
async def test_with_keystone_the_console_loads_without_a_token(
    tmp_path: Path, api_for: ApiBuilder
) -> None:
    api, _ = await api_for(keystone_settings(tmp_path))
    for path in ("/console/", "/console/app.js", "/console/config.json"):
        assert (await api.get(path)).status == 200, path
    config = await (await api.get("/console/config.json")).json()
    # Keystone's public address, and nothing of the catalog's own account.
    assert config == {"auth_mode": "keystone", "keystone_url": keystone_url()}
    # The API itself still needs one.
    assert (await api.get("/v2/images")).status == 401


@pytest.mark.keystone
async def test_signing_in_exchanges_a_password_for_a_project_token(
    tmp_path: Path, api_for: ApiBuilder, keystone_admin: KeystoneAdmin
) -> None:
    api, _ = await api_for(keystone_settings(tmp_path))
    account = await keystone_admin.account("member")
    given = {
        "username": account.user_name,
        "password": account.password,
        "project": account.project_name,
    }
    response = await api.post("/console/sign-in", json=given, headers=JSON)
    assert response.status == 201, await response.text()
    signed_in = await response.json()
    assert signed_in["project"] == {"id": account.project_id, "name": account.project_name}
    assert "member" in signed_in["roles"]
    listed = await api.get("/v2/images", headers={"X-Auth-Token": signed_in["token"]})
    assert listed.status == 200

    wrong = {**given, "password": "not-the-password"}
    response = await api.post("/console/sign-in", json=wrong, headers=JSON)
    assert response.status == 401
    assert "did not accept" in (await response.json())["message"]


@pytest.mark.keystone
@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("not json", "Malformed JSON in request body."),
        ([], "The sign-in body must be a JSON object."),
        ({"password": "p", "project": "x"}, "The sign-in needs a username."),
        ({"username": "u", "project": "x"}, "The sign-in needs a password."),
        ({"username": "u", "password": "p"}, "The sign-in needs a project."),
        ({"username": 3, "password": "p", "project": "x"}, "The username must be a string."),
        ({"username": "u", "password": "p", "project": "x", "domain": 1}, "The domain must be"),
        ({"username": "u" * 256, "password": "p", "project": "x"}, "The username is longer"),
    ],
)
async def test_a_sign_in_keystone_cannot_be_asked_is_refused(
    tmp_path: Path, api_for: ApiBuilder, body: object, message: str
) -> None:
    api, container = await api_for(keystone_settings(tmp_path))
    data = body if isinstance(body, str) else None
    document = None if isinstance(body, str) else body
    await refused_without_change(
        container,
        lambda: api.post("/console/sign-in", data=data, json=document, headers=JSON),
        400,
        message,
    )


async def test_a_sign_in_while_keystone_is_away_is_a_503(
    tmp_path: Path, api_for: ApiBuilder
) -> None:
    away = f"http://127.0.0.1:{unused_port()}/v3"
    api, _ = await api_for(keystone_settings(tmp_path, auth_url=away, timeout_seconds=5))
    given = {"username": "u", "password": "p", "project": "x"}
    response = await api.post("/console/sign-in", json=given, headers=JSON)
    assert response.status == 503
    assert "identity service is not available" in (await response.json())["message"]
