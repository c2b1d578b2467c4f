"""GET /v2/images/{id}?as_of=: the image as it was at a time, rebuilt from the log."""

from __future__ import annotations

import io
import json
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote

import pytest

from infra.bootstrap import Container
from tests.integration.conftest import (
    ADMIN,
    JSON,
    PROJECT_A,
    PROJECT_B,
    ApiClient,
    created_image_id,
    refused_without_change,
    settled,
)

V21 = "application/openstack-images-v2.1-json-patch"
OCTETS = {**PROJECT_A, "Content-Type": "application/octet-stream"}
STRANGER = {"X-Project-Id": "proj-c", "X-User-Id": "carol", "X-Roles": "member,reader"}
LATER = "9999-12-31T23:59:59Z"


async def times_of(api: ApiClient, image_id: str) -> dict[str, str]:
    """When each of the image's events happened (the last of each type), from its history."""
    response = await api.get(f"/v2/images/{image_id}/history", headers=ADMIN)
    return {e["type"]: e["occurred_at"] for e in (await response.json())["events"]}


def just_before(time: str) -> str:
    moment = datetime.fromisoformat(time.replace("Z", "+00:00")) - timedelta(microseconds=1)
    return moment.isoformat().replace("+00:00", "Z")


async def shown_at(
    api: ApiClient, image_id: str, as_of: str, headers: dict[str, str] = PROJECT_A
) -> tuple[int, Any]:
    response = await api.get(
        f"/v2/images/{image_id}?as_of={quote(as_of)}", headers={**headers, **JSON}
    )
    return response.status, await response.json()


async def patch(api: ApiClient, image_id: str, operations: list[dict[str, Any]]) -> None:
    response = await api.patch(
        f"/v2/images/{image_id}", json=operations, headers={**PROJECT_A, "Content-Type": V21}
    )
    assert response.status == 200, await response.text()


async def test_the_image_at_several_times(api: ApiClient) -> None:
    image_id = await created_image_id(api, name="old")
    await patch(api, image_id, [{"op": "replace", "path": "/name", "value": "new"}])
    assert (await api.delete(f"/v2/images/{image_id}", headers=PROJECT_A)).status == 204
    at = await times_of(api, image_id)

    status, body = await shown_at(api, image_id, just_before(at["image.created"]))
    assert status == 404
    assert body["message"].startswith(f"No image found with ID {image_id}")
    status, body = await shown_at(api, image_id, at["image.created"])
    assert (status, body["name"], body["status"]) == (200, "old", "queued")
    status, body = await shown_at(api, image_id, just_before(at["image.updated"]))
    assert (status, body["name"]) == (200, "old")
    status, body = await shown_at(api, image_id, at["image.updated"])
    assert (status, body["name"]) == (200, "new")
    assert body["updated_at"] == at["image.updated"][:19] + "Z"
    assert (await shown_at(api, image_id, at["image.deleted"]))[0] == 404
    assert (await shown_at(api, image_id, LATER))[0] == 404


async def assert_as_of_later_is_what_show_answers(api: ApiClient, image_id: str) -> None:
    now = await (await api.get(f"/v2/images/{image_id}", headers=PROJECT_A)).json()
    assert await shown_at(api, image_id, LATER) == (200, now)


async def test_the_log_rebuilds_exactly_what_the_view_shows(api: ApiClient) -> None:
    """At any point of an image's life, its state rebuilt from the log renders as the view's."""
    image_id = await created_image_id(
        api, name="life", tags=["b", "a"], min_ram=64, os_distro="debian", tmp="x"
    )
    await assert_as_of_later_is_what_show_answers(api, image_id)
    await patch(
        api,
        image_id,
        [
            {"op": "replace", "path": "/name", "value": "renamed"},
            {"op": "remove", "path": "/tmp"},
            {"op": "add", "path": "/os_version", "value": "12"},
            {"op": "replace", "path": "/protected", "value": True},
            {"op": "replace", "path": "/tags", "value": ["c"]},
        ],
    )
    await assert_as_of_later_is_what_show_answers(api, image_id)
    assert (await api.put(f"/v2/images/{image_id}/tags/d", headers=PROJECT_A)).status == 204
    members = f"/v2/images/{image_id}/members"
    assert (await api.post(members, json={"member": "proj-b"}, headers=PROJECT_A)).status == 200
    await assert_as_of_later_is_what_show_answers(api, image_id)
    staged = await api.put(
        f"/v2/images/{image_id}/stage", data=io.BytesIO(b"x" * 10), headers=OCTETS
    )
    assert staged.status == 204
    await assert_as_of_later_is_what_show_answers(api, image_id)
    imported = await api.post(
        f"/v2/images/{image_id}/import",
        data=json.dumps({"method": {"name": "glance-direct"}}),
        headers={**PROJECT_A, "Content-Type": "application/json"},
    )
    assert imported.status == 202
    await settled(api)
    await assert_as_of_later_is_what_show_answers(api, image_id)
    for action in ("deactivate", "reactivate"):
        response = await api.post(f"/v2/images/{image_id}/actions/{action}", headers=ADMIN)
        assert response.status == 204
        await assert_as_of_later_is_what_show_answers(api, image_id)

    uploaded = await created_image_id(api, name="uploaded")
    response = await api.put(f"/v2/images/{uploaded}/file", data=io.BytesIO(b"y"), headers=OCTETS)
    assert response.status == 204
    await assert_as_of_later_is_what_show_answers(api, uploaded)


async def test_what_a_project_could_see_then_is_what_it_sees_of_then(api: ApiClient) -> None:
    image_id = await created_image_id(api, name="shared")
    members = f"/v2/images/{image_id}/members"
    assert (await api.post(members, json={"member": "proj-b"}, headers=PROJECT_A)).status == 200
    added = (await times_of(api, image_id))["image.member_added"]
    removed = await api.delete(f"{members}/proj-b", headers=PROJECT_A)
    assert removed.status == 204

    assert (await shown_at(api, image_id, added, PROJECT_B))[0] == 200
    assert (await shown_at(api, image_id, just_before(added), PROJECT_B))[0] == 404
    assert (await shown_at(api, image_id, LATER, PROJECT_B))[0] == 404
    assert (await shown_at(api, image_id, added, STRANGER))[0] == 404
    assert (await shown_at(api, image_id, added, ADMIN))[0] == 200


async def test_a_deleted_images_past_is_for_its_owner_and_admins_only(api: ApiClient) -> None:
    image_id = await created_image_id(api, ADMIN, owner="proj-a", visibility="public")
    assert (await api.delete(f"/v2/images/{image_id}", headers=PROJECT_A)).status == 204
    created = (await times_of(api, image_id))["image.created"]

    for allowed in (PROJECT_A, ADMIN):
        status, body = await shown_at(api, image_id, created, allowed)
        assert (status, body["visibility"]) == (200, "public")
    # It was public then, but it is gone: only those who may audit it still see its past.
    assert (await shown_at(api, image_id, created, PROJECT_B))[0] == 404


@pytest.mark.parametrize(
    "as_of",
    [
        "yesterday",
        "",
        "2026-01-02",
        "2026-01-02T03:04:05",  # no offset: which time would that be?
        "2026-13-02T03:04:05Z",
        "2026-01-02T25:04:05Z",
        "2026-01-02T03:04:05+2:00",
        "1767323045",
        "0001-01-01T00:00:00+01:00",  # before the year 1 in UTC
    ],
)
async def test_a_time_that_is_not_rfc3339_is_refused(
    api: ApiClient, container: Container, as_of: str
) -> None:
    image_id = await created_image_id(api)
    await refused_without_change(
        container,
        lambda: api.get(f"/v2/images/{image_id}?as_of={quote(as_of)}", headers={**ADMIN, **JSON}),
        400,
        f"Invalid as_of value: {as_of}. It must be an RFC 3339 time",
    )


async def test_any_offset_names_the_same_moment(api: ApiClient) -> None:
    image_id = await created_image_id(api, name="old")
    await patch(api, image_id, [{"op": "replace", "path": "/name", "value": "new"}])
    renamed = datetime.fromisoformat((await times_of(api, image_id))["image.updated"])
    in_paris = renamed.astimezone(timezone(timedelta(hours=1)))
    before = (renamed - timedelta(microseconds=1)).isoformat()
    assert (await shown_at(api, image_id, in_paris.isoformat()))[1]["name"] == "new"
    assert (await shown_at(api, image_id, before))[1]["name"] == "old"
    # A `+` sent unencoded in a query string arrives as a space.
    unencoded = await api.get(
        f"/v2/images/{image_id}?as_of={in_paris.isoformat()}", headers=PROJECT_A
    )
    assert (await unencoded.json())["name"] == "new"
