"""Certificates of signed images read from Barbican's secrets API with the caller's token:
Barbican (and the Keystone catalog that names it) stand in as a small HTTP server on
127.0.0.1 that answers as they do."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from infra.bootstrap import Container
from infra.settings import KeystoneSettings, SignatureSettings, TaskSettings
from tests.http_origin import Origin, serving
from tests.integration.conftest import (
    JSON,
    PROJECT_A,
    ApiBuilder,
    ApiClient,
    created_image_id,
    embedded_settings,
    event_count,
    settled,
    stored_files,
)
from tests.serving import unused_ports
from tests.signing import Signed, signed

TOKEN = "gAAAAAB-a-users-token"
DATA = b"signed through barbican\n" * 10_000
CANNOT = "Signature verification failed for image {}: Signature verification for the image failed: "


@dataclass
class KeyManager:
    """Barbican's secrets as its API serves them, to the one token allowed to read them, and
    a Keystone catalog naming it."""

    secrets: dict[str, bytes] = field(default_factory=dict)
    failing: bool = False
    silent: bool = False
    """Asked for a secret, answers nothing until the test is over."""
    over: asyncio.Event = field(default_factory=asyncio.Event)
    asked_with: list[str | None] = field(default_factory=list)
    url: str = ""

    async def payload(self, request: web.Request) -> web.Response:
        self.asked_with.append(request.headers.get("X-Auth-Token"))
        if self.silent:
            await self.over.wait()
        if self.failing:
            return web.Response(status=500)
        if request.headers.get("X-Auth-Token") != TOKEN:
            return web.json_response({"code": 403, "title": "Forbidden"}, status=403)
        secret = self.secrets.get(request.match_info["uuid"])
        if secret is None:
            return web.json_response({"code": 404, "title": "Not Found"}, status=404)
        return web.Response(body=secret, content_type="application/octet-stream")

    async def catalog(self, request: web.Request) -> web.Response:
        if request.headers.get("X-Auth-Token") != TOKEN:
            return web.json_response({"error": {"code": 401}}, status=401)
        endpoints = [
            {"interface": "internal", "url": "http://127.0.0.1:9/wrong", "region": "r1"},
            {"interface": "public", "url": self.url, "region": "r1"},
        ]
        services: list[dict[str, Any]] = [
            {"type": "image", "endpoints": [{"interface": "public", "url": "http://x"}]},
            {"type": "key-manager", "endpoints": endpoints},
        ]
        return web.json_response({"catalog": services})


@pytest.fixture
async def key_manager() -> AsyncIterator[KeyManager]:
    manager = KeyManager()
    app = web.Application()
    app.router.add_get("/v1/secrets/{uuid}/payload", manager.payload)
    app.router.add_get("/identity/v3/auth/catalog", manager.catalog)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    manager.url = str(server.make_url("")).rstrip("/")
    yield manager
    manager.over.set()
    await server.close()


async def api_on(
    tmp_path: Path, database_url: str, api_for: ApiBuilder, signatures: SignatureSettings
) -> tuple[ApiClient, Container]:
    settings = embedded_settings(tmp_path, database_url, signatures=signatures)
    return await api_for(settings)


async def upload(
    api: ApiClient, made: Signed, token: str | None = TOKEN, data: bytes = DATA
) -> tuple[str, Any]:
    body: dict[str, Any] = dict(made.properties)
    image_id = await created_image_id(api, **body)
    headers = {**PROJECT_A, **JSON, "Content-Type": "application/octet-stream"}
    if token is not None:
        headers["X-Auth-Token"] = token
    response = await api.put(f"/v2/images/{image_id}/file", data=io.BytesIO(data), headers=headers)
    return image_id, response


async def status_of(api: ApiClient, image_id: str) -> str:
    shown = await (await api.get(f"/v2/images/{image_id}", headers=PROJECT_A)).json()
    return str(shown["status"])


async def test_a_certificate_kept_in_barbican_verifies_the_upload(
    tmp_path: Path, database_url: str, api_for: ApiBuilder, key_manager: KeyManager
) -> None:
    api, _ = await api_on(
        tmp_path, database_url, api_for, SignatureSettings(barbican_url=key_manager.url)
    )
    made = signed(DATA, "ECC_SECP521R1", "SHA-512", der=True)  # castellan keeps DER
    key_manager.secrets[made.certificate_uuid] = made.certificate
    image_id, response = await upload(api, made)
    assert response.status == 204, await response.text()
    assert await status_of(api, image_id) == "active"
    assert key_manager.asked_with == [TOKEN]  # as the caller, not as the catalog


async def test_a_certificate_barbican_does_not_have_or_will_not_give_refuses_the_upload(
    tmp_path: Path, database_url: str, api_for: ApiBuilder, key_manager: KeyManager
) -> None:
    api, container = await api_on(
        tmp_path, database_url, api_for, SignatureSettings(barbican_url=key_manager.url)
    )
    unknown = signed(DATA)
    image_id, response = await upload(api, unknown)
    assert response.status == 400
    assert (await response.json())["message"].startswith(
        CANNOT.format(image_id) + f"Certificate not found with ID: {unknown.certificate_uuid}."
    )
    kept = signed(DATA)
    key_manager.secrets[kept.certificate_uuid] = kept.certificate
    for token in ("another-users-token", None):
        image_id, response = await upload(api, kept, token)
        assert response.status == 400
        assert (await response.json())["message"].startswith(
            CANNOT.format(image_id)
            + f"Unable to retrieve certificate with ID: {kept.certificate_uuid}."
        )
        assert await status_of(api, image_id) == "queued"
    assert stored_files(container) == []


async def test_barbican_out_of_order_is_a_503_that_leaves_nothing(
    tmp_path: Path, database_url: str, api_for: ApiBuilder, key_manager: KeyManager
) -> None:
    api, container = await api_on(
        tmp_path, database_url, api_for, SignatureSettings(barbican_url=key_manager.url)
    )
    made = signed(DATA)
    key_manager.secrets[made.certificate_uuid] = made.certificate
    key_manager.failing = True
    await refused_as_unavailable(api, container, made)
    key_manager.failing = False
    assert (await upload(api, made))[1].status == 204


async def test_barbican_unreachable_or_not_answering_in_time_is_a_503_that_leaves_nothing(
    tmp_path: Path, database_url: str, api_for: ApiBuilder, key_manager: KeyManager
) -> None:
    made = signed(DATA)
    key_manager.secrets[made.certificate_uuid] = made.certificate
    (nothing_there,) = unused_ports(1)
    unreachable = SignatureSettings(barbican_url=f"http://127.0.0.1:{nothing_there}")
    api, container = await api_on(tmp_path / "unreachable", database_url, api_for, unreachable)
    await refused_as_unavailable(api, container, made)
    # A Barbican that never answers: whatever the machine's pace, the wait always runs out.
    key_manager.silent = True
    silent = SignatureSettings(barbican_url=key_manager.url, barbican_timeout_seconds=0.5)
    api, container = await api_on(tmp_path / "silent", database_url, api_for, silent)
    await refused_as_unavailable(api, container, made)
    assert key_manager.asked_with == [TOKEN]


async def refused_as_unavailable(api: ApiClient, container: Container, made: Signed) -> None:
    """The upload of `made` answered 503, the image queued, nothing stored, and only the
    image's creation and the upload's start and failure recorded."""
    before = await event_count(container)
    image_id, response = await upload(api, made)
    assert response.status == 503
    assert (await response.json())["message"].startswith("The key manager is not available")
    assert await status_of(api, image_id) == "queued"
    assert stored_files(container) == []
    assert await event_count(container) == before + 3  # created, upload started, failed


async def test_barbican_is_found_in_the_callers_keystone_catalog(
    tmp_path: Path, database_url: str, api_for: ApiBuilder, key_manager: KeyManager
) -> None:
    settings = embedded_settings(
        tmp_path,
        database_url,
        signatures=SignatureSettings(barbican_from_catalog=True),
    )
    settings.keystone = KeystoneSettings(auth_url=f"{key_manager.url}/identity")
    api, _ = await api_for(settings)
    made = signed(DATA, "DSA", "SHA-224")
    key_manager.secrets[made.certificate_uuid] = made.certificate
    image_id, response = await upload(api, made)
    assert response.status == 204, await response.text()
    assert await status_of(api, image_id) == "active"


async def test_a_web_download_is_verified_with_the_callers_token(
    tmp_path: Path, database_url: str, api_for: ApiBuilder, key_manager: KeyManager
) -> None:
    """The fetch runs after the answer, still as the caller who asked for it."""
    remote = tmp_path / "remote-image"
    remote.write_bytes(DATA)
    settings = embedded_settings(
        tmp_path,
        database_url,
        signatures=SignatureSettings(barbican_url=key_manager.url),
        tasks=TaskSettings(import_allowed_networks="127.0.0.0/8", import_allowed_ports=""),
    )
    api, _ = await api_for(settings)
    made = signed(DATA, "RSA-PSS", "SHA-256", der=True)
    key_manager.secrets[made.certificate_uuid] = made.certificate
    properties: dict[str, Any] = dict(made.properties)
    image_id = await created_image_id(api, **properties)
    async with serving(Origin(remote)) as url:
        body = {"method": {"name": "web-download", "uri": f"{url}/image"}}
        headers = {**PROJECT_A, **JSON, "X-Auth-Token": TOKEN}
        response = await api.post(f"/v2/images/{image_id}/import", json=body, headers=headers)
        assert response.status == 202, await response.text()
        await settled(api)
    assert await status_of(api, image_id) == "active"
    assert key_manager.asked_with == [TOKEN]
