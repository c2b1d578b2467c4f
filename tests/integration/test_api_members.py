"""Sharing an image with other projects: the owner adds and removes, the member decides."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from infra.bootstrap import Container
from tests.integration.conftest import (
    ADMIN,
    JSON,
    PROJECT_A,
    PROJECT_B,
    ApiFactory,
    refused_without_change,
)
from tests.integration.conftest import ApiClient as Client

OWNER = {**PROJECT_A, **JSON}
MEMBER = {**PROJECT_B, **JSON}
STRANGER = {"X-Project-Id": "proj-c", "X-User-Id": "carol", "X-Roles": "member,reader", **JSON}
SCHEMAS = Path(__file__).parents[2] / "infra" / "http" / "schemas"


async def shared_image(api: Client, **body: Any) -> str:
    response = await api.post("/v2/images", json={"name": "shared", **body}, headers=OWNER)
    image_id: str = (await response.json())["id"]
    return image_id


async def listed_ids(api: Client, headers: dict[str, str]) -> list[str]:
    return [
        i["id"] for i in (await (await api.get("/v2/images", headers=headers)).json())["images"]
    ]


async def status_seen(api: Client, image_id: str, headers: dict[str, str]) -> int:
    return (await api.get(f"/v2/images/{image_id}", headers=headers)).status


async def test_the_sharing_flow(api: Client) -> None:
    image_id = await shared_image(api)
    members = f"/v2/images/{image_id}/members"
    assert await status_seen(api, image_id, MEMBER) == 404

    added = await api.post(members, json={"member": "proj-b"}, headers=OWNER)
    assert added.status == 200
    body = await added.json()
    assert (body["member_id"], body["image_id"], body["status"]) == ("proj-b", image_id, "pending")
    assert body["schema"] == "/v2/schemas/member"

    # Pending: the member can see and use it, but it is not listed until accepted.
    assert await status_seen(api, image_id, MEMBER) == 200
    assert image_id not in await listed_ids(api, MEMBER)
    accepted = await api.put(f"{members}/proj-b", json={"status": "accepted"}, headers=MEMBER)
    assert (await accepted.json())["status"] == "accepted"
    assert image_id in await listed_ids(api, MEMBER)

    rejected = await api.put(f"{members}/proj-b", json={"status": "rejected"}, headers=MEMBER)
    assert rejected.status == 200
    assert image_id not in await listed_ids(api, MEMBER)
    assert await status_seen(api, image_id, MEMBER) == 200

    assert (await api.delete(f"{members}/proj-b", headers=OWNER)).status == 204
    assert await status_seen(api, image_id, MEMBER) == 404


async def test_who_sees_which_memberships(api: Client) -> None:
    image_id = await shared_image(api)
    members = f"/v2/images/{image_id}/members"
    for project in ("proj-b", "proj-d"):
        assert (await api.post(members, json={"member": project}, headers=OWNER)).status == 200
    everyone = await (await api.get(members, headers=OWNER)).json()
    assert [m["member_id"] for m in everyone["members"]] == ["proj-b", "proj-d"]
    assert everyone["schema"] == "/v2/schemas/members"
    own = await (await api.get(members, headers=MEMBER)).json()
    assert [m["member_id"] for m in own["members"]] == ["proj-b"]
    assert (await api.get(f"{members}/proj-d", headers=MEMBER)).status == 404
    assert (await api.get(f"{members}/proj-b", headers=MEMBER)).status == 200
    assert (await api.get(members, headers=STRANGER)).status == 404
    assert (await api.get(members, headers=ADMIN)).status == 200


async def test_only_shared_images_list_members(api: Client) -> None:
    """Members kept from when an image was shared stay, hidden until it is shared again."""
    image_id = await shared_image(api)
    members = f"/v2/images/{image_id}/members"
    assert (await api.post(members, json={"member": "proj-b"}, headers=OWNER)).status == 200
    patch = [{"op": "replace", "path": "/visibility", "value": "community"}]
    headers = {**OWNER, "Content-Type": "application/openstack-images-v2.1-json-patch"}
    assert (await api.patch(f"/v2/images/{image_id}", json=patch, headers=headers)).status == 200
    listed = await api.get(members, headers=OWNER)
    assert listed.status == 403
    assert (
        f"Not allowed to list members for image {image_id}: Only shared images have members."
        in (await listed.json())["message"]
    )
    one = await api.get(f"{members}/proj-b", headers=OWNER)
    assert one.status == 404
    assert "Only shared images have members." in (await one.json())["message"]


async def refused(
    api: Client,
    container: Container,
    method: str,
    path: str,
    body: Any,
    headers: dict[str, str],
    status: int,
    message: str,
) -> None:
    data = None if body is None else json.dumps(body)
    headers = {**headers, "Content-Type": "application/json"}
    await refused_without_change(
        container, lambda: api.request(method, path, data=data, headers=headers), status, message
    )


async def test_refusals_change_nothing(api: Client, container: Container) -> None:
    image_id = await shared_image(api)
    members = f"/v2/images/{image_id}/members"
    assert (await api.post(members, json={"member": "proj-b"}, headers=OWNER)).status == 200

    await refused(
        api,
        container,
        "POST",
        members,
        {"member": "proj-b"},
        OWNER,
        409,
        f"Member proj-b is duplicated for image {image_id}",
    )
    await refused(
        api,
        container,
        "PUT",
        f"{members}/proj-b",
        {"status": "accepted"},
        OWNER,
        403,
        "You are not authorized to complete modify_member action.",
    )
    await refused(
        api,
        container,
        "PUT",
        f"{members}/proj-b",
        {"status": "maybe"},
        MEMBER,
        400,
        'Incorrect request: Status must be "pending", "accepted" or "rejected".',
    )
    await refused(
        api,
        container,
        "POST",
        members,
        {"member": "proj-e"},
        MEMBER,
        403,
        "You are not authorized to complete add_member action.",
    )
    await refused(
        api,
        container,
        "DELETE",
        f"{members}/proj-b",
        None,
        MEMBER,
        403,
        "You are not authorized to complete delete_member action.",
    )
    await refused(
        api,
        container,
        "DELETE",
        f"{members}/proj-zzz",
        None,
        OWNER,
        404,
        f"proj-zzz not found in the member list of the image {image_id}.",
    )
    await refused(
        api,
        container,
        "GET",
        f"{members}/proj-zzz",
        None,
        OWNER,
        404,
        f"proj-zzz not found in the member list of the image {image_id}.",
    )
    await refused(
        api,
        container,
        "POST",
        members,
        {"member": 5},
        OWNER,
        400,
        "Member to be added not specified",
    )
    await refused(
        api,
        container,
        "POST",
        members,
        {"member": "x"},
        STRANGER,
        404,
        f"Image {image_id} not found.",
    )
    private = await shared_image(api, visibility="private")
    await refused(
        api,
        container,
        "POST",
        f"/v2/images/{private}/members",
        {"member": "proj-b"},
        OWNER,
        403,
        f"Not allowed to create members for image {private}.",
    )
    unknown = "00000000-0000-0000-0000-000000000001"
    await refused(
        api,
        container,
        "POST",
        f"/v2/images/{unknown}/members",
        {"member": "x"},
        OWNER,
        404,
        f"Image {unknown} not found.",
    )


async def test_the_member_quota_is_413(api_with: ApiFactory) -> None:
    api, container = await api_with(image_member_quota=1)
    image_id = await shared_image(api)
    members = f"/v2/images/{image_id}/members"
    assert (await api.post(members, json={"member": "proj-b"}, headers=OWNER)).status == 200
    await refused(
        api,
        container,
        "POST",
        members,
        {"member": "proj-c"},
        OWNER,
        413,
        f"Image member limit exceeded for image {image_id}",
    )


async def test_the_member_schemas_are_glances(api: Client) -> None:
    for name in ("member", "members"):
        response = await api.get(f"/v2/schemas/{name}", headers=PROJECT_A)
        assert await response.json() == json.loads((SCHEMAS / f"{name}.json").read_text())
