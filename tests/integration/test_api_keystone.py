"""The API with `CATALOG_API_AUTH_MODE=keystone`, against the real local Keystone."""

from __future__ import annotations

import json
from pathlib import Path

import aiohttp
import pytest

from infra.settings import ApiSettings, MetricsSettings, Settings
from tests.conftest import service_setting
from tests.integration.conftest import JSON, ApiBuilder, ApiClient, embedded_settings, event_count
from tests.keystone_accounts import KeystoneAdmin, catalog_keystone, keystone_url

pytestmark = pytest.mark.keystone


def keystone_settings(
    tmp_path: Path, *, auth_url: str | None = None, timeout_seconds: float = 10.0
) -> Settings:
    settings = embedded_settings(tmp_path, api=ApiSettings(auth_mode="keystone"))
    settings.keystone = catalog_keystone(
        auth_url=auth_url or keystone_url(), timeout_seconds=timeout_seconds
    )
    return settings


@pytest.fixture
async def api(tmp_path: Path, api_for: ApiBuilder) -> ApiClient:
    client, _ = await api_for(keystone_settings(tmp_path))
    return client


async def assert_unauthorized(response: aiohttp.ClientResponse) -> None:
    assert response.status == 401, await response.text()
    assert response.headers["WWW-Authenticate"] == f'Keystone uri="{keystone_url()}"'
    body = json.loads(await response.text())
    assert body["error"]["code"] == 401
    assert body["error"]["message"] == "The request you have made requires authentication."


async def test_a_request_without_a_valid_token_is_refused_and_changes_nothing(
    tmp_path: Path, api_for: ApiBuilder
) -> None:
    api, container = await api_for(keystone_settings(tmp_path))
    identity = {"X-Project-Id": "p1", "X-User-Id": "u1", "X-Roles": "admin,member,reader"}
    for token in (None, "gAAAAABnot-a-token"):
        headers = {**identity, **({"X-Auth-Token": token} if token else {})}
        await assert_unauthorized(await api.get("/v2/images", headers=headers))
        await assert_unauthorized(
            await api.post("/v2/images", json={"name": "x"}, headers={**headers, **JSON})
        )
    assert await event_count(container) == 0


async def test_version_documents_need_no_token(api: ApiClient) -> None:
    for path in ("/", "/versions"):
        response = await api.get(path)
        assert response.status in (200, 300), path
        assert "versions" in await response.json()


async def test_the_token_says_who_is_asking_and_identity_headers_are_ignored(
    api: ApiClient, keystone_admin: KeystoneAdmin
) -> None:
    member = await keystone_admin.account("member")
    token = await keystone_admin.token_of(member)
    # A member claiming to be an admin by headers is still a member.
    forged = {"X-Auth-Token": token, "X-Roles": "admin", "X-Project-Id": "someone-else"}
    created = await api.post("/v2/images", json={"name": "mine"}, headers=forged)
    assert created.status == 201, await created.text()
    image = await created.json()
    assert image["owner"] == member.project_id
    public = await api.post("/v2/images", json={"visibility": "public"}, headers=forged)
    assert public.status == 403, await public.text()

    history = await api.get(f"/v2/images/{image['id']}/history", headers={"X-Auth-Token": token})
    assert history.status == 200, await history.text()
    actor = (await history.json())["events"][0]["actor"]
    assert (actor["user_id"], actor["project_id"]) == (member.user_id, member.project_id)
    assert "member" in actor["roles"]


async def test_an_admin_token_acts_as_admin(api: ApiClient, keystone_admin: KeystoneAdmin) -> None:
    account = await keystone_admin.account("admin")
    headers = {"X-Auth-Token": await keystone_admin.token_of(account)}
    response = await api.post("/v2/images", json={"visibility": "public"}, headers=headers)
    assert response.status == 201, await response.text()


async def test_a_service_token_beside_the_users_is_checked_too(
    api: ApiClient, keystone_admin: KeystoneAdmin
) -> None:
    member = await keystone_admin.account("member")
    token = await keystone_admin.token_of(member)
    service_token = await keystone_admin.project_token(
        service_setting("CATALOG_TEST_KEYSTONE_COMPUTE_USER"),
        service_setting("CATALOG_TEST_KEYSTONE_COMPUTE_PASSWORD"),
        "service",
    )
    both = {"X-Auth-Token": token, "X-Service-Token": service_token}
    assert (await api.get("/v2/images", headers=both)).status == 200
    bad_service = {"X-Auth-Token": token, "X-Service-Token": "gAAAAABnot-a-token"}
    await assert_unauthorized(await api.get("/v2/images", headers=bad_service))


async def test_keystone_out_of_reach_lets_nobody_through(
    tmp_path: Path, api_for: ApiBuilder, unused_tcp_port: int
) -> None:
    settings = keystone_settings(
        tmp_path, auth_url=f"http://127.0.0.1:{unused_tcp_port}/v3", timeout_seconds=5
    )
    api, container = await api_for(settings)
    response = await api.get("/v2/images", headers={"X-Auth-Token": "gAAAAABany", **JSON})
    assert response.status == 503, await response.text()
    assert "identity service is not available" in (await response.json())["message"]
    assert await event_count(container) == 0


async def test_the_history_names_the_service_acting_for_the_user(
    api: ApiClient, keystone_admin: KeystoneAdmin
) -> None:
    member = await keystone_admin.account("member")
    service_token = await keystone_admin.project_token(
        service_setting("CATALOG_TEST_KEYSTONE_COMPUTE_USER"),
        service_setting("CATALOG_TEST_KEYSTONE_COMPUTE_PASSWORD"),
        "service",
    )
    both = {"X-Auth-Token": await keystone_admin.token_of(member), "X-Service-Token": service_token}
    created = await api.post("/v2/images", json={"name": "snapshot"}, headers={**both, **JSON})
    assert created.status == 201, await created.text()
    image_id = (await created.json())["id"]
    history = await api.get(f"/v2/images/{image_id}/history", headers=both)
    actor = (await history.json())["events"][0]["actor"]
    assert (actor["user_id"], actor["project_id"]) == (member.user_id, member.project_id)
    assert actor["service_roles"] == ["service"]
    assert actor["user_domain_id"] == actor["project_domain_id"] == "default"


@pytest.mark.parametrize(
    ("access", "metrics_status"), [("admin", 401), ("anyone", 200)], ids=["admin", "anyone"]
)
async def test_the_description_needs_no_token_and_the_metrics_one_unless_for_anyone(
    tmp_path: Path, api_for: ApiBuilder, access: str, metrics_status: int
) -> None:
    settings = keystone_settings(tmp_path)
    settings.metrics = MetricsSettings(access=access)
    api, _ = await api_for(settings)
    assert (await api.get("/openapi.json")).status == 200
    scraped = await api.get("/metrics")
    if metrics_status == 401:
        await assert_unauthorized(scraped)
    assert scraped.status == metrics_status
