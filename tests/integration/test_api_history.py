"""GET /v2/images/{id}/history: an image's events from the log, for its owner and admins only."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest

from infra.bootstrap import Container
from tests.integration.conftest import (
    ADMIN,
    JSON,
    PROJECT_A,
    PROJECT_B,
    READER_A,
    ApiClient,
    created_image_id,
    refused_without_change,
    uploaded_image_id,
)

V21 = "application/openstack-images-v2.1-json-patch"
EXACT_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z")


async def history_of(
    api: ApiClient, image_id: str, headers: dict[str, str] = PROJECT_A, query: str = ""
) -> dict[str, Any]:
    response = await api.get(f"/v2/images/{image_id}/history{query}", headers=headers)
    assert response.status == 200, await response.text()
    body: dict[str, Any] = await response.json()
    return body


async def rename(api: ApiClient, image_id: str, name: str) -> str:
    """Rename the image; the request id of the write."""
    response = await api.patch(
        f"/v2/images/{image_id}",
        json=[{"op": "replace", "path": "/name", "value": name}],
        headers={**PROJECT_A, "Content-Type": V21},
    )
    assert response.status == 200, await response.text()
    return response.headers["x-openstack-request-id"]


async def test_the_history_has_every_event_in_order_with_who_when_and_what(
    api: ApiClient,
) -> None:
    created = await api.post(
        "/v2/images", json={"name": "a", "os_distro": "debian"}, headers=PROJECT_A
    )
    image_id = (await created.json())["id"]
    renamed_by = await rename(api, image_id, "b")
    tagged = await api.put(f"/v2/images/{image_id}/tags/gold", headers=PROJECT_A)
    assert tagged.status == 204

    body = await history_of(api, image_id)

    assert body["image_id"] == image_id
    assert "next" not in body
    events = body["events"]
    assert [(e["type"], e["version"]) for e in events] == [
        ("image.created", 1),
        ("image.updated", 2),
        ("image.tag_added", 3),
    ]
    assert [e["request_id"] for e in events] == [
        created.headers["x-openstack-request-id"],
        renamed_by,
        tagged.headers["x-openstack-request-id"],
    ]
    positions = [e["position"] for e in events]
    assert positions == sorted(positions)
    times = [e["occurred_at"] for e in events]
    assert all(EXACT_TIME.fullmatch(t) for t in times), times
    assert times == sorted(times)
    assert {e["stream_id"] for e in events} == {image_id}
    assert len({e["event_id"] for e in events}) == 3
    assert events[0]["actor"] == {
        "user_id": "alice",
        "project_id": "proj-a",
        "roles": ["member", "reader"],
    }
    assert events[0]["change"]["name"] == "a"
    assert events[0]["change"]["properties"] == {"os_distro": "debian"}
    assert events[1]["change"] == {
        "attributes": {"name": "b"},
        "properties": {},
        "removed_properties": [],
        "tags": None,
    }
    assert events[2]["change"] == {"tag": "gold"}


@pytest.mark.parametrize(
    ("headers", "status"),
    [(PROJECT_A, 200), (READER_A, 200), (ADMIN, 200), (PROJECT_B, 404)],
    ids=["owner", "owners-reader", "admin", "other-project"],
)
async def test_only_the_owner_and_admins_read_a_history(
    api: ApiClient, headers: dict[str, str], status: int
) -> None:
    # Even a public image's history is not for everyone: it names who did what.
    image_id = await created_image_id(api, ADMIN, owner="proj-a", visibility="public")
    assert (await api.get(f"/v2/images/{image_id}", headers=PROJECT_B)).status == 200
    response = await api.get(f"/v2/images/{image_id}/history", headers={**headers, **JSON})
    assert response.status == status
    if status == 404:
        assert (await response.json())["message"].startswith(f"No image found with ID {image_id}")


@pytest.mark.parametrize("image_id", [str(uuid.uuid4()), "not-a-uuid"])
async def test_an_image_never_created_has_no_history(
    api: ApiClient, container: Container, image_id: str
) -> None:
    await refused_without_change(
        container,
        lambda: api.get(f"/v2/images/{image_id}/history", headers={**ADMIN, **JSON}),
        404,
        f"No image found with ID {image_id}",
    )


async def test_a_deleted_images_history_stays_for_its_owner_and_admins(api: ApiClient) -> None:
    image_id = await uploaded_image_id(api, b"bytes")
    assert (await api.delete(f"/v2/images/{image_id}", headers=PROJECT_A)).status == 204
    assert (await api.get(f"/v2/images/{image_id}", headers=PROJECT_A)).status == 404

    for headers in (PROJECT_A, ADMIN):
        events = (await history_of(api, image_id, headers))["events"]
        assert [e["type"] for e in events] == [
            "image.created",
            "image.upload_started",
            "image.uploaded",
            "image.deleted",
        ]
    assert (await api.get(f"/v2/images/{image_id}/history", headers=PROJECT_B)).status == 404


async def test_a_long_history_comes_in_pages_linked_by_next(api: ApiClient) -> None:
    image_id = await created_image_id(api, name="0")
    for n in range(1, 5):
        await rename(api, image_id, str(n))
    everything = (await history_of(api, image_id))["events"]

    pages, url = [], f"/v2/images/{image_id}/history?limit=2"
    while url:
        response = await api.get(url, headers=PROJECT_A)
        page = await response.json()
        pages.append(page["events"])
        url = page.get("next", "")
    assert [len(p) for p in pages] == [2, 2, 1]
    assert [e for p in pages for e in p] == everything
    second = await history_of(api, image_id, query=f"?limit=2&marker={everything[1]['position']}")
    assert second["events"] == everything[2:4]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("?limit=x", "limit param must be an integer"),
        ("?limit=0", "limit param must be positive"),
        ("?marker=-1", "Invalid marker: -1."),
        ("?marker=99999999999999999999", "Invalid marker: 99999999999999999999."),
        ("?include=members", "Invalid include value: members"),
    ],
)
async def test_bad_paging_is_refused(
    api: ApiClient, container: Container, query: str, message: str
) -> None:
    image_id = await created_image_id(api)
    await refused_without_change(
        container,
        lambda: api.get(f"/v2/images/{image_id}/history{query}", headers={**PROJECT_A, **JSON}),
        400,
        message,
    )


async def download(api: ApiClient, image_id: str, headers: dict[str, str]) -> str:
    response = await api.get(f"/v2/images/{image_id}/file", headers=headers)
    assert response.status == 200
    await response.read()
    return response.headers["x-openstack-request-id"]


async def test_admins_may_see_who_downloaded_the_data(api: ApiClient) -> None:
    image_id = await uploaded_image_id(api, b"0123456789", visibility="community")
    by_owner = await download(api, image_id, PROJECT_A)
    by_other = await download(api, image_id, PROJECT_B)
    await rename(api, image_id, "after the downloads")

    without = (await history_of(api, image_id, ADMIN))["events"]
    assert "image.data_sent" not in [e["type"] for e in without]
    events = (await history_of(api, image_id, ADMIN, "?include=downloads"))["events"]
    assert [e["type"] for e in events] == [
        "image.created",
        "image.upload_started",
        "image.uploaded",
        "image.data_sent",
        "image.data_sent",
        "image.updated",
    ]
    sent = events[3:5]
    assert [e["request_id"] for e in sent] == [by_owner, by_other]
    assert [e["actor"]["project_id"] for e in sent] == ["proj-a", "proj-b"]
    assert sent[1]["change"]["bytes_sent"] == 10
    assert sent[1]["change"]["image_id"] == image_id
    assert sent[1]["stream_id"] != image_id

    paged, url = [], f"/v2/images/{image_id}/history?include=downloads&limit=4"
    while url:
        page = await (await api.get(url, headers=ADMIN)).json()
        paged += page["events"]
        url = page.get("next", "")
    assert paged == events


async def test_the_owner_may_not_see_who_downloaded(api: ApiClient, container: Container) -> None:
    # The readers of an image are other projects' business, as in Glance's `image.send`,
    # which only operators receive.
    image_id = await uploaded_image_id(api, b"data")
    await refused_without_change(
        container,
        lambda: api.get(
            f"/v2/images/{image_id}/history?include=downloads", headers={**PROJECT_A, **JSON}
        ),
        403,
        "You are not authorized to complete get_image_downloads action.",
    )


async def test_callers_without_roles_find_no_history_as_they_find_no_image(
    api: ApiClient,
) -> None:
    image_id = await created_image_id(api)
    nobody = {"X-Project-Id": "proj-a", "X-User-Id": "x", "X-Roles": "", **JSON}
    for path in (f"/v2/images/{image_id}", f"/v2/images/{image_id}/history"):
        assert (await api.get(path, headers=nobody)).status == 404, path
