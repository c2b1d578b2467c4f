"""/healthcheck, as oslo.middleware's healthcheck answers load balancers in front of Glance."""

from __future__ import annotations

import json
from pathlib import Path

import asyncpg
import pytest

from infra.settings import ApiSettings, HealthcheckSettings, KeystoneSettings
from tests.conftest import service_setting
from tests.integration.conftest import PROJECT_A, ApiBuilder, ApiClient, embedded_settings


async def test_a_catalog_that_can_serve_answers_ok(api: ApiClient) -> None:
    response = await api.get("/healthcheck")
    assert response.status == 200
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert await response.text() == "OK"


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE"])
async def test_any_method_is_answered(api: ApiClient, method: str) -> None:
    response = await api.request(method, "/healthcheck")
    assert (response.status, await response.text()) == (200, "OK")


async def test_head_answers_no_content(api: ApiClient) -> None:
    response = await api.head("/healthcheck")
    assert response.status == 204
    assert await response.read() == b""


async def test_json_when_the_client_prefers_it(api: ApiClient) -> None:
    for accept in ("application/json", "text/html;q=0.5, application/json", "application/*"):
        response = await api.get("/healthcheck", headers={"Accept": accept})
        assert response.headers["Content-Type"] == "application/json", accept
        assert json.loads(await response.text()) == {"detailed": False, "reasons": ["OK"]}


async def test_html_when_the_client_prefers_it(api: ApiClient) -> None:
    # Equally acceptable types go in oslo.middleware's order: plain text, HTML, JSON.
    for accept in ("text/html", "application/json, text/html", "text/plain;q=0, */*;q=0.1"):
        response = await api.get("/healthcheck", headers={"Accept": accept})
        assert response.headers["Content-Type"] == "text/html; charset=utf-8", accept
        page = await response.text()
        assert "<TITLE>Healthcheck Status</TITLE>" in page
        assert "<TD>OK</TD>" in page


async def test_plain_text_when_nothing_offered_is_acceptable(api: ApiClient) -> None:
    for accept in ("image/png", "application/json;q=0", "nonsense", "text/*"):
        response = await api.get("/healthcheck", headers={"Accept": accept})
        assert (await response.text(), response.headers["Content-Type"]) == (
            "OK",
            "text/plain; charset=utf-8",
        ), accept


async def test_the_disable_file_drains_the_node(tmp_path: Path, api_for: ApiBuilder) -> None:
    disable = tmp_path / "healthcheck_disable"
    settings = embedded_settings(tmp_path)
    settings.healthcheck = HealthcheckSettings(disable_file=disable)
    api, _ = await api_for(settings)
    assert (await api.get("/healthcheck")).status == 200
    disable.touch()
    response = await api.get("/healthcheck")
    assert (response.status, await response.text()) == (503, "DISABLED BY FILE")
    as_json = await api.get("/healthcheck", headers={"Accept": "application/json"})
    assert json.loads(await as_json.text())["reasons"] == ["DISABLED BY FILE"]
    assert (await api.head("/healthcheck")).status == 503
    # The node goes on serving the requests that still come while it drains.
    assert (await api.get("/v2/images", headers=PROJECT_A)).status == 200
    disable.unlink()
    assert (await api.get("/healthcheck")).status == 200


@pytest.mark.postgres
async def test_a_database_that_cannot_be_reached_is_unavailable(
    tmp_path: Path, api_for: ApiBuilder, postgres_url: str
) -> None:
    api, _ = await api_for(embedded_settings(tmp_path, postgres_url))
    assert (await api.get("/healthcheck")).status == 200
    server = await asyncpg.connect(service_setting("CATALOG_TEST_POSTGRES_URL"))
    try:
        name = postgres_url.rpartition("/")[2]
        await server.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    finally:
        await server.close()
    response = await api.get("/healthcheck")
    assert (response.status, await response.text()) == (503, "DATABASE UNAVAILABLE")


@pytest.mark.parametrize("auth_mode", ["trusted-headers", "keystone"])
async def test_no_identity_is_needed(tmp_path: Path, api_for: ApiBuilder, auth_mode: str) -> None:
    settings = embedded_settings(tmp_path, api=ApiSettings(auth_mode=auth_mode))
    # A Keystone nobody can reach: a request that needed a token would be a 503.
    settings.keystone = KeystoneSettings(
        auth_url="http://127.0.0.1:9/v3", username="u", password="p", project_name="service"
    )
    api, _ = await api_for(settings)
    response = await api.get("/healthcheck")
    assert (response.status, await response.text()) == (200, "OK")
