"""Property protections (`CATALOG_PROPERTY_PROTECTION_FILE`), in Glance's `roles` and `policies`
formats, through the API on both databases: who may create, read, update and delete which
custom properties; 403 `Attribute '…' is reserved.` for what one may not do, and properties one
may not read are not there (not shown, not listed, 409 to change). A file the service cannot
use stops it at start with one line."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientResponse

from infra.bootstrap import Container
from infra.policy_files import PolicyFileError, load_policy
from infra.settings import PolicySettings
from tests.integration.conftest import (
    ADMIN,
    JSON,
    ApiBuilder,
    ApiClient,
    embedded_settings,
    refused_without_change,
    run_catalog,
)

ROLES = """\
[^x_secret_]
create = admin
read = admin
update = admin
delete = admin

[^x_compute_]
create = service
read = @
update = service
delete = service

[^x_billing_]
create = admin, member
read = @
update = admin
delete = !

[^x_]
create = admin,member
read = admin,member,reader
update = admin,member
delete = admin,member

[.*]
create = admin
read = @
update = admin
delete = admin
"""

POLICIES = """\
[^x_secret_]
create = secret_keeper
read = secret_keeper
update = secret_keeper
delete = secret_keeper

[^x_billing_]
create = billing
read = @
update = billing
delete = !

[.*]
create = default
read = default
update = default
delete = default
"""
POLICY = 'secret_keeper: "rule:context_is_admin"\nbilling: "role:admin or role:billing"\n'

MEMBER = {"X-Project-Id": "proj-a", "X-User-Id": "alice", "X-Roles": "member,reader", **JSON}
READER = {**MEMBER, "X-Roles": "reader"}
ADMIN_JSON = {**ADMIN, **JSON}
V21 = {"Content-Type": "application/openstack-images-v2.1-json-patch"}
# Made by an admin for proj-a: one property of each kind.
PROPERTIES = {
    "x_secret_key": "s3cr3t",
    "x_billing_code": "b-1",
    "x_plain": "p",
    "os_distro": "debian",
}


async def protected_api(
    tmp_path: Path, database_url: str, api_for: ApiBuilder, text: str, rule_format: str
) -> tuple[ApiClient, Container]:
    protections = tmp_path / "property-protections.conf"
    protections.write_text(text)
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY)
    settings = PolicySettings(
        policy_file=policy,
        property_protection_file=protections,
        property_protection_rule_format=rule_format,
    )
    return await api_for(embedded_settings(tmp_path, database_url, policy=settings))


@pytest.fixture
async def roles_api(
    tmp_path: Path, database_url: str, api_for: ApiBuilder
) -> tuple[ApiClient, Container]:
    return await protected_api(tmp_path, database_url, api_for, ROLES, "roles")


@pytest.fixture
async def policies_api(
    tmp_path: Path, database_url: str, api_for: ApiBuilder
) -> tuple[ApiClient, Container]:
    return await protected_api(tmp_path, database_url, api_for, POLICIES, "policies")


def custom(image: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in image.items() if k.startswith("x_") or k == "os_distro"}


async def image_of_proj_a(api: ApiClient, **properties: str) -> str:
    body = {"name": "protected", "owner": "proj-a", **properties}
    created = await api.post("/v2/images", json=body, headers=ADMIN_JSON)
    assert created.status == 201, await created.text()
    image_id: str = (await created.json())["id"]
    return image_id


async def seen_by_admin(api: ApiClient, image_id: str) -> dict[str, Any]:
    """The image's custom properties, all of them (an admin reads every one)."""
    shown = await api.get(f"/v2/images/{image_id}", headers=ADMIN_JSON)
    return custom(await shown.json())


async def patch(
    api: ApiClient, image_id: str, headers: dict[str, str], *operations: dict[str, Any]
) -> ClientResponse:
    return await api.patch(
        f"/v2/images/{image_id}", json=list(operations), headers={**headers, **V21}
    )


async def test_creating_a_property_one_may_not_create_is_refused(
    roles_api: tuple[ApiClient, Container],
) -> None:
    api, container = roles_api
    for name in ("x_secret_key", "x_compute_host", "os_distro"):
        await refused_without_change(
            container,
            functools.partial(api.post, "/v2/images", json={name: "v"}, headers=MEMBER),
            403,
            f"Attribute '{name}' is reserved.",
        )
    created = await api.post(
        "/v2/images", json={"x_plain": "p", "x_billing_code": "b"}, headers=MEMBER
    )
    assert created.status == 201, await created.text()
    assert custom(await created.json()) == {"x_plain": "p", "x_billing_code": "b"}


async def test_properties_one_may_not_read_are_neither_shown_nor_listed(
    roles_api: tuple[ApiClient, Container],
) -> None:
    api, _ = roles_api
    image_id = await image_of_proj_a(api, **PROPERTIES)
    readable = {k: v for k, v in PROPERTIES.items() if k != "x_secret_key"}
    shown = await (await api.get(f"/v2/images/{image_id}", headers=MEMBER)).json()
    assert custom(shown) == readable
    listed = await (await api.get("/v2/images", headers=MEMBER)).json()
    assert [custom(i) for i in listed["images"]] == [readable]
    assert await seen_by_admin(api, image_id) == PROPERTIES


async def test_patch_refuses_what_one_may_not_do_and_keeps_what_one_may_not_see(
    roles_api: tuple[ApiClient, Container],
) -> None:
    api, container = roles_api
    image_id = await image_of_proj_a(api, **PROPERTIES)
    refusals = [
        ({"op": "replace", "path": "/x_secret_key", "value": "x"}, 409, "There was a conflict"),
        ({"op": "remove", "path": "/x_secret_key"}, 409, "There was a conflict"),
        ({"op": "add", "path": "/x_secret_key", "value": "x"}, 403, "Attribute 'x_secret_key'"),
        ({"op": "replace", "path": "/x_billing_code", "value": "x"}, 403, "Attribute 'x_billing"),
        ({"op": "add", "path": "/x_billing_code", "value": "x"}, 403, "Attribute 'x_billing"),
        ({"op": "remove", "path": "/x_billing_code"}, 403, "Attribute 'x_billing_code'"),
        ({"op": "replace", "path": "/os_distro", "value": "x"}, 403, "Attribute 'os_distro'"),
    ]
    for operation, status, message in refusals:
        response = await refused_without_change(
            container, functools.partial(patch, api, image_id, MEMBER, operation), status, message
        )
        if status == 409:
            detail = f"Property {operation['path'][1:]} does not exist."
            assert detail in (await response.json())["message"]

    changed = await patch(
        api,
        image_id,
        MEMBER,
        {"op": "add", "path": "/x_new", "value": "n"},
        {"op": "replace", "path": "/x_plain", "value": "q"},
    )
    assert changed.status == 200, await changed.text()
    expected = {**PROPERTIES, "x_new": "n", "x_plain": "q"}
    assert custom(await changed.json()) == {
        k: v for k, v in expected.items() if k != "x_secret_key"
    }
    # Unlike Glance, which drops it here, the property the member could not see is kept.
    assert await seen_by_admin(api, image_id) == expected


async def test_removing_a_property_needs_delete(roles_api: tuple[ApiClient, Container]) -> None:
    api, _ = roles_api
    image_id = await image_of_proj_a(api, x_plain="p")
    removed = await patch(api, image_id, MEMBER, {"op": "remove", "path": "/x_plain"})
    assert removed.status == 200, await removed.text()
    assert "x_plain" not in await removed.json()


async def test_move_and_copy_follow_the_protections_of_both_properties(
    roles_api: tuple[ApiClient, Container],
) -> None:
    """`move` reads and deletes its source and writes its target, `copy` reads its source and
    writes its target: each step needs what that operation alone would need."""
    api, container = roles_api
    image_id = await image_of_proj_a(api, **PROPERTIES)
    refusals = [
        # Not readable: not there, so nothing of it reaches a property or a tag.
        ({"op": "copy", "from": "/x_secret_key", "path": "/x_leak"}, 409, "x_secret_key"),
        ({"op": "copy", "from": "/x_secret_key", "path": "/tags/-"}, 409, "x_secret_key"),
        # Readable but not deletable: it may be copied, not moved.
        ({"op": "move", "from": "/x_billing_code", "path": "/x_b"}, 403, "x_billing_code"),
        # A target one may not create.
        ({"op": "copy", "from": "/x_plain", "path": "/x_secret_new"}, 403, "x_secret_new"),
        ({"op": "move", "from": "/x_plain", "path": "/x_compute_host"}, 403, "x_compute_host"),
    ]
    for operation, status, name in refusals:
        message = {
            409: f"Property {name} does not exist.",
            403: f"Attribute '{name}' is reserved.",
        }[status]
        await refused_without_change(
            container,
            functools.partial(patch, api, image_id, MEMBER, operation),
            status,
            message,
            anywhere=True,
        )

    copy_billing = {"op": "copy", "from": "/x_billing_code", "path": "/x_b"}
    move_plain = {"op": "move", "from": "/x_plain", "path": "/x_moved"}
    changed = await patch(api, image_id, MEMBER, copy_billing, move_plain)
    assert changed.status == 200, await changed.text()
    kept = {k: v for k, v in PROPERTIES.items() if k != "x_plain"}
    assert await seen_by_admin(api, image_id) == {**kept, "x_b": "b-1", "x_moved": "p"}


async def test_the_roles_of_a_service_token_count(roles_api: tuple[ApiClient, Container]) -> None:
    api, container = roles_api
    image_id = await image_of_proj_a(api)
    operation = {"op": "add", "path": "/x_compute_host", "value": "node-7"}
    await refused_without_change(
        container,
        lambda: patch(api, image_id, MEMBER, operation),
        403,
        "Attribute 'x_compute_host' is reserved.",
    )
    with_service_token = {**MEMBER, "X-Service-Roles": "service"}
    added = await patch(api, image_id, with_service_token, operation)
    assert added.status == 200, await added.text()
    assert (await added.json())["x_compute_host"] == "node-7"


async def test_a_reader_reads_what_readers_may(roles_api: tuple[ApiClient, Container]) -> None:
    api, _ = roles_api
    image_id = await image_of_proj_a(api, **PROPERTIES)
    shown = await (await api.get(f"/v2/images/{image_id}", headers=READER)).json()
    assert custom(shown) == {k: v for k, v in PROPERTIES.items() if k != "x_secret_key"}


async def test_policies_name_rules_of_the_policy(
    policies_api: tuple[ApiClient, Container],
) -> None:
    api, container = policies_api
    await refused_without_change(
        container,
        lambda: api.post("/v2/images", json={"x_billing_code": "b"}, headers=MEMBER),
        403,
        "Attribute 'x_billing_code' is reserved.",
    )
    billing = {**MEMBER, "X-Roles": "member,reader,billing"}
    created = await api.post(
        "/v2/images", json={"x_billing_code": "b", "os_distro": "d"}, headers=billing
    )
    assert created.status == 201, await created.text()
    image_id = (await created.json())["id"]
    await refused_without_change(
        container,
        lambda: patch(api, image_id, billing, {"op": "remove", "path": "/x_billing_code"}),
        403,
        "Attribute 'x_billing_code' is reserved.",
    )
    secret = {"op": "add", "path": "/x_secret_key", "value": "s"}
    await refused_without_change(
        container, lambda: patch(api, image_id, billing, secret), 403, "Attribute 'x_secret_key'"
    )
    kept = await patch(api, image_id, ADMIN_JSON, secret)
    assert kept.status == 200, await kept.text()
    shown = await (await api.get(f"/v2/images/{image_id}", headers=billing)).json()
    assert custom(shown) == {"x_billing_code": "b", "os_distro": "d"}


BAD_FILES = {
    "a section without delete": (
        "roles",
        "[^x_]\ncreate = admin\nread = @\nupdate = admin\n",
        "[^x_] has no delete: each section gives create, read, update and delete",
    ),
    "a section that is not a regular expression": (
        "roles",
        "[x_(]\ncreate = @\nread = @\nupdate = @\ndelete = @\n",
        "[x_(] is not a regular expression: missing ), unterminated subpattern at position 2",
    ),
    "everyone and no one": (
        "roles",
        "[.*]\ncreate = @,!\nread = @\nupdate = @\ndelete = @\n",
        "[.*] create = @,!: @ (everyone) and ! (no one) together",
    ),
    "two rules for one operation": (
        "policies",
        "[.*]\ncreate = default,billing\nread = default\nupdate = default\ndelete = default\n",
        "[.*] create = default,billing: one rule per operation (combine rules in the policy file)",
    ),
    "a rule the policy does not have": (
        "policies",
        "[.*]\ncreate = billing\nread = default\nupdate = default\ndelete = default\n",
        "[.*] create = billing: the policy has no rule 'billing'",
    ),
    "no section": (
        "roles",
        "create = admin\n",
        "File contains no section headers. file: '<string>', line: 1 'create = admin\\n'",
    ),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_a_file_that_cannot_be_used_is_refused_naming_the_problem(
    tmp_path: Path, case: str
) -> None:
    rule_format, text, problem = BAD_FILES[case]
    path = tmp_path / "property-protections.conf"
    path.write_text(text)
    settings = PolicySettings(
        property_protection_file=path,
        property_protection_rule_format=rule_format,
    )
    with pytest.raises(PolicyFileError) as refused:
        load_policy(settings)
    assert str(refused.value) == f"CATALOG_PROPERTY_PROTECTION_FILE {path}: {problem}"


async def test_the_server_does_not_start_with_a_bad_file_and_says_why_in_one_line(
    tmp_path: Path,
) -> None:
    path = tmp_path / "property-protections.conf"
    path.write_text("[^x_]\ncreate = admin\nread = @\nupdate = admin\n")
    settings = {
        "CATALOG_DATA_DIR": str(tmp_path / "data"),
        "CATALOG_PROPERTY_PROTECTION_FILE": str(path),
    }
    status, _, err = await run_catalog("serve", "--bind", "127.0.0.1:0", settings=settings)
    assert status == 1
    assert err.splitlines() == [
        f"catalog: CATALOG_PROPERTY_PROTECTION_FILE {path}: [^x_] has no delete: "
        "each section gives create, read, update and delete"
    ]
    assert not (tmp_path / "data").exists()
