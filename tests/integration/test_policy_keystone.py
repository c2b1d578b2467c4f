"""The policy with real Keystone tokens (`CATALOG_API_AUTH_MODE=keystone`): Glance's defaults
for project-scoped, system-scoped and service tokens, and an operator's policy file naming a
role of the deployment's own and the roles of a service token."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from infra.settings import PolicySettings
from tests.conftest import service_setting
from tests.integration.conftest import JSON, ApiBuilder, ApiClient
from tests.integration.test_api_keystone import keystone_settings
from tests.keystone_accounts import Account, KeystoneAdmin

pytestmark = pytest.mark.keystone

PUBLISHER_ROLE = "image_publisher"
POLICY = f"""\
publicize_image: "rule:context_is_admin or role:{PUBLISHER_ROLE}"
fetch_image_location: "rule:service_api or service_roles:service"
"""


@pytest.fixture
async def api(tmp_path: Path, api_for: ApiBuilder) -> ApiClient:
    client, _ = await api_for(keystone_settings(tmp_path))
    return client


@pytest.fixture
async def api_with_policy(tmp_path: Path, api_for: ApiBuilder) -> ApiClient:
    path = tmp_path / "policy.yaml"
    path.write_text(POLICY)
    settings = keystone_settings(tmp_path)
    settings.policy = PolicySettings(policy_file=path)
    client, _ = await api_for(settings)
    return client


async def token_headers(admin: KeystoneAdmin, account: Account) -> dict[str, str]:
    return {"X-Auth-Token": await admin.token_of(account), **JSON}


async def image_with_data(api: ApiClient, headers: dict[str, str]) -> str:
    body = {"disk_format": "raw", "container_format": "bare", "visibility": "private"}
    created = await api.post("/v2/images", json=body, headers=headers)
    assert created.status == 201, await created.text()
    image_id: str = (await created.json())["id"]
    upload = await api.put(
        f"/v2/images/{image_id}/file",
        data=io.BytesIO(b"bytes"),
        headers={**headers, "Content-Type": "application/octet-stream"},
    )
    assert upload.status == 204, await upload.text()
    return image_id


async def test_keystones_implied_roles_make_a_member_a_reader_and_a_reader_no_writer(
    api: ApiClient, admin: KeystoneAdmin
) -> None:
    member = await admin.account("member")
    reader = await admin.account("reader", project_name=member.project_name)
    as_member, as_reader = await token_headers(admin, member), await token_headers(admin, reader)
    image_id = await image_with_data(api, as_member)
    assert (await api.get("/v2/images", headers=as_member)).status == 200
    assert (await api.get(f"/v2/images/{image_id}", headers=as_reader)).status == 200
    for refused in (
        api.get(f"/v2/images/{image_id}/file", headers=as_reader),
        api.delete(f"/v2/images/{image_id}", headers=as_reader),
    ):
        response = await refused
        assert response.status == 403, await response.text()


async def test_an_admin_of_any_project_acts_on_every_image(
    api: ApiClient, admin: KeystoneAdmin
) -> None:
    member = await admin.account("member")
    elsewhere = await admin.account("admin")
    image_id = await image_with_data(api, await token_headers(admin, member))
    as_admin = await token_headers(admin, elsewhere)
    assert (await api.get(f"/v2/images/{image_id}", headers=as_admin)).status == 200
    assert (await api.delete(f"/v2/images/{image_id}", headers=as_admin)).status == 204


async def test_a_system_scoped_token_is_refused_glances_project_rules(
    api: ApiClient, admin: KeystoneAdmin
) -> None:
    member = await admin.account("member")
    image_id = await image_with_data(api, await token_headers(admin, member))
    operator = await admin.account()
    await admin.grant_system_role(operator, "admin")
    as_system = {"X-Auth-Token": await admin.system_token(operator.user_name, operator.password)}
    as_system.update(JSON)
    assert (await api.get("/v2/images", headers=as_system)).status == 403
    assert (await api.post("/v2/images", json={}, headers=as_system)).status == 403
    assert (await api.get("/v2/info/stores/detail", headers=as_system)).status == 403
    for path in (f"/v2/images/{image_id}", f"/v2/images/{image_id}/file"):
        assert (await api.get(path, headers=as_system)).status == 404, path
    assert (await api.delete(f"/v2/images/{image_id}", headers=as_system)).status == 404


async def compute_service_token(admin: KeystoneAdmin) -> str:
    return await admin.project_token(
        service_setting("CATALOG_TEST_KEYSTONE_COMPUTE_USER"),
        service_setting("CATALOG_TEST_KEYSTONE_COMPUTE_PASSWORD"),
        "service",
    )


async def test_a_service_token_is_no_role_of_the_user_by_default(
    api: ApiClient, admin: KeystoneAdmin
) -> None:
    member = await admin.account("member")
    as_member = await token_headers(admin, member)
    image_id = await image_with_data(api, as_member)
    with_service_token = {**as_member, "X-Service-Token": await compute_service_token(admin)}
    response = await api.get(f"/v2/images/{image_id}/locations", headers=with_service_token)
    assert response.status == 403, await response.text()


async def test_a_policy_file_names_a_deployments_role_and_the_service_tokens_roles(
    api_with_policy: ApiClient, admin: KeystoneAdmin
) -> None:
    api = api_with_policy
    await admin.ensure_role(PUBLISHER_ROLE)
    member = await admin.account("member")
    publisher = await admin.account("member", PUBLISHER_ROLE)
    as_member, as_publisher = (
        await token_headers(admin, member),
        await token_headers(admin, publisher),
    )
    public = {"visibility": "public"}
    assert (await api.post("/v2/images", json=public, headers=as_member)).status == 403
    assert (await api.post("/v2/images", json=public, headers=as_publisher)).status == 201

    image_id = await image_with_data(api, as_member)
    path = f"/v2/images/{image_id}/locations"
    assert (await api.get(path, headers=as_member)).status == 403
    with_service_token = {**as_member, "X-Service-Token": await compute_service_token(admin)}
    listed = await api.get(path, headers=with_service_token)
    assert listed.status == 200, await listed.text()
    assert len(await listed.json()) == 1
