"""An operator's policy file (`CATALOG_POLICY_FILE`), written as for Glance, changes what the API
allows: on both databases, in YAML and in JSON. A file the service cannot use stops it at
start with one line naming the file and the problem."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
import yaml

from infra.bootstrap import Container
from infra.policy_files import PolicyFileError, load_policy
from infra.settings import PolicySettings
from tests.integration.conftest import (
    ADMIN,
    JSON,
    ApiBuilder,
    ApiClient,
    created_image_id,
    embedded_settings,
    refused_without_change,
    run_catalog,
    uploaded_image_id,
)

POLICY = """\
# Readers of the owning project may upload data.
upload_image: "rule:context_is_admin or (role:reader and project_id:%(project_id)s)"
# Only admins delete.
delete_image: "rule:context_is_admin"
# Publishers make images public: a rule of the operator's own, referred to by name.
image_publisher: "role:publisher"
publicize_image: "rule:context_is_admin or rule:image_publisher"
# Members share their images unless they also hold no_sharing.
add_member: "rule:context_is_admin or
  (role:member and project_id:%(project_id)s and not role:no_sharing)"
# Members download, but not images whose property says they are locked.
download_image: "rule:context_is_admin or
  (role:member and project_id:%(project_id)s and not 'yes':%(locked)s)"
# Images are seen by their own project only (no one else's public ones).
get_image: "rule:context_is_admin or (role:reader and project_id:%(project_id)s)"
# Anyone may see the stores' details; no one may copy images.
stores_info_detail: "@"
copy_image: "!"
# Compute, acting for a user with its service token beside the user's, lists locations.
fetch_image_location: "rule:service_api or service_roles:service"
"""

MEMBER = {"X-Project-Id": "proj-a", "X-User-Id": "alice", "X-Roles": "member,reader", **JSON}
READER = {"X-Project-Id": "proj-a", "X-User-Id": "rita", "X-Roles": "reader", **JSON}
OTHER = {"X-Project-Id": "proj-b", "X-User-Id": "bob", "X-Roles": "member,reader", **JSON}
ADMIN_JSON = {**ADMIN, **JSON}


def as_json(yaml_text: str) -> str:
    return json.dumps(yaml.safe_load(yaml_text), indent=2)


@pytest.fixture(params=["yaml", "json"])
async def policy_api(
    request: pytest.FixtureRequest, tmp_path: Path, database_url: str, api_for: ApiBuilder
) -> tuple[ApiClient, Container]:
    path = tmp_path / f"policy.{request.param}"
    path.write_text(POLICY if request.param == "yaml" else as_json(POLICY))
    settings = embedded_settings(tmp_path, database_url, policy=PolicySettings(policy_file=path))
    return await api_for(settings)


async def test_a_reader_may_upload(policy_api: tuple[ApiClient, Container]) -> None:
    api, _ = policy_api
    image_id = await created_image_id(api, MEMBER)
    response = await api.put(
        f"/v2/images/{image_id}/file",
        data=io.BytesIO(b"bytes"),
        headers={**READER, "Content-Type": "application/octet-stream"},
    )
    assert response.status == 204, await response.text()


async def test_only_admins_delete(policy_api: tuple[ApiClient, Container]) -> None:
    api, container = policy_api
    image_id = await created_image_id(api, MEMBER)
    await refused_without_change(
        container,
        lambda: api.delete(f"/v2/images/{image_id}", headers=MEMBER),
        403,
        "You are not authorized to complete delete_image action.",
    )
    assert (await api.delete(f"/v2/images/{image_id}", headers=ADMIN_JSON)).status == 204


async def test_publishers_make_images_public(policy_api: tuple[ApiClient, Container]) -> None:
    api, container = policy_api
    publisher = {**MEMBER, "X-Roles": "member,reader,publisher"}
    created = await api.post("/v2/images", json={"visibility": "public"}, headers=publisher)
    assert created.status == 201, await created.text()
    await refused_without_change(
        container,
        lambda: api.post("/v2/images", json={"visibility": "public"}, headers=MEMBER),
        403,
        "You are not authorized to complete publicize_image action.",
    )


async def test_a_role_can_take_a_right_away(policy_api: tuple[ApiClient, Container]) -> None:
    api, container = policy_api
    image_id = await created_image_id(api, MEMBER)
    members = f"/v2/images/{image_id}/members"
    restrained = {**MEMBER, "X-Roles": "member,reader,no_sharing"}
    await refused_without_change(
        container,
        lambda: api.post(members, json={"member": "proj-b"}, headers=restrained),
        403,
        "You are not authorized to complete add_member action.",
    )
    assert (await api.post(members, json={"member": "proj-b"}, headers=MEMBER)).status == 200


async def test_a_rule_can_read_an_images_properties(
    policy_api: tuple[ApiClient, Container],
) -> None:
    api, _ = policy_api
    free = await uploaded_image_id(api, b"free", MEMBER)
    locked = await uploaded_image_id(api, b"locked", MEMBER, locked="yes")
    assert (await api.get(f"/v2/images/{free}/file", headers=MEMBER)).status == 200
    refused = await api.get(f"/v2/images/{locked}/file", headers=MEMBER)
    assert refused.status == 403
    assert (await api.get(f"/v2/images/{locked}/file", headers=ADMIN_JSON)).status == 200


async def test_images_the_caller_may_not_get_are_neither_shown_nor_listed(
    policy_api: tuple[ApiClient, Container],
) -> None:
    api, _ = policy_api
    public = await created_image_id(api, ADMIN_JSON, visibility="public")
    own = await created_image_id(api, OTHER)
    assert (await api.get(f"/v2/images/{public}", headers=ADMIN_JSON)).status == 200
    for path in (f"/v2/images/{public}", f"/v2/images/{public}/file"):
        assert (await api.get(path, headers=OTHER)).status == 404, path
    listed = await (await api.get("/v2/images", headers=OTHER)).json()
    assert [image["id"] for image in listed["images"]] == [own]


async def test_everyone_and_no_one(policy_api: tuple[ApiClient, Container]) -> None:
    api, container = policy_api
    nobody = {**MEMBER, "X-Roles": ""}
    assert (await api.get("/v2/info/stores/detail", headers=nobody)).status == 200
    image_id = await uploaded_image_id(api, b"bytes", MEMBER)
    await refused_without_change(
        container,
        lambda: api.post(
            f"/v2/images/{image_id}/import",
            json={"method": {"name": "copy-image"}, "all_stores": True},
            headers=ADMIN_JSON,
        ),
        403,
        "You are not authorized to complete copy_image action.",
    )


async def test_a_service_token_counts_where_the_file_says_so(
    policy_api: tuple[ApiClient, Container],
) -> None:
    api, _ = policy_api
    image_id = await uploaded_image_id(api, b"bytes", MEMBER)
    path = f"/v2/images/{image_id}/locations"
    assert (await api.get(path, headers=MEMBER)).status == 403
    with_service_token = {**MEMBER, "X-Service-Roles": "service"}
    listed = await api.get(path, headers=with_service_token)
    assert listed.status == 200, await listed.text()
    assert [location["metadata"]["store"] for location in await listed.json()] == ["file"]


async def test_rules_the_file_does_not_name_keep_glances_defaults(
    policy_api: tuple[ApiClient, Container],
) -> None:
    api, container = policy_api
    image_id = await created_image_id(api, MEMBER)
    patch = [{"op": "replace", "path": "/name", "value": "renamed"}]
    headers = {**READER, "Content-Type": "application/openstack-images-v2.1-json-patch"}
    await refused_without_change(
        container,
        lambda: api.patch(f"/v2/images/{image_id}", json=patch, headers=headers),
        403,
        "You are not authorized to complete modify_image action.",
    )


BAD_FILES = {
    "a check string that does not parse": (
        'get_image: "role:admin or (role:reader"\n',
        "rule 'get_image': cannot read 'role:admin or (role:reader': a parenthesis is not closed",
    ),
    "a check that is not KIND:MATCH": (
        'delete_image: "admin"\n',
        "rule 'delete_image': cannot read 'admin': a check is KIND:MATCH, @ or !",
    ),
    "a rule referring to one nobody defined": (
        'get_images: "rule:context_is_admin or rule:readers"\n',
        "rule 'get_images' refers to rule:readers, which is not defined",
    ),
    "rules in a loop": (
        'a: "rule:b"\nb: "rule:a"\n',
        "rules refer to each other in a loop: a -> b -> a",
    ),
    "a remote check": (
        'get_image: "http://authz.example.com/check"\n',
        "rule 'get_image': 'http://authz.example.com/check': "
        "remote checks (http:) are not supported",
    ),
    "not YAML": (
        'get_image: "role:admin\n',
        "not YAML or JSON: line 2, column 1: found unexpected end of stream",
    ),
    "not a mapping": ("- role:admin\n", "expected rule names and their check strings, found list"),
    "a rule that is not a string": (
        "get_image: 3\n",
        "rule 'get_image': a rule is a string (or a list of lists of checks), not 3",
    ),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_a_file_that_cannot_be_used_is_refused_naming_the_problem(
    tmp_path: Path, case: str
) -> None:
    text, problem = BAD_FILES[case]
    path = tmp_path / "policy.yaml"
    path.write_text(text)
    with pytest.raises(PolicyFileError) as refused:
        load_policy(PolicySettings(policy_file=path))
    assert str(refused.value) == f"CATALOG_POLICY_FILE {path}: {problem}"


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.yaml"
    with pytest.raises(
        PolicyFileError, match=r"^CATALOG_POLICY_FILE .*nowhere.yaml: cannot be read"
    ):
        load_policy(PolicySettings(policy_file=path))


async def test_the_server_does_not_start_with_a_bad_file_and_says_why_in_one_line(
    tmp_path: Path,
) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text('delete_image: "role:admin or"\n')
    settings = {"CATALOG_DATA_DIR": str(tmp_path / "data"), "CATALOG_POLICY_FILE": str(path)}
    status, _, err = await run_catalog("serve", "--bind", "127.0.0.1:0", settings=settings)
    assert status == 1
    assert err.splitlines() == [
        f"catalog: CATALOG_POLICY_FILE {path}: rule 'delete_image': cannot read "
        "'role:admin or': it ends where a check should follow"
    ]
    assert not (tmp_path / "data").exists(), "nothing is created before the policy is read"
