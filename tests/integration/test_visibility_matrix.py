"""Who sees what: every visibility x every kind of caller x show, list, download.

Glance's rules: an image one may not see is 404 (never 403); community images are listed only
for their owner; shared images for members once accepted (but pending and rejected members can
still show and download them); admins list everything but other projects' community images.
"""

from __future__ import annotations

import io

import pytest

from tests.integration.conftest import ApiClient as Client


def caller(project: str, roles: str = "member,reader") -> dict[str, str]:
    return {"X-Project-Id": project, "X-User-Id": f"user-{project}", "X-Roles": roles}


CALLERS = {
    "owner": caller("proj-owner"),
    "pending": caller("proj-pending"),
    "accepted": caller("proj-accepted"),
    "rejected": caller("proj-rejected"),
    "stranger": caller("proj-stranger"),
    "admin": caller("proj-admin", "admin,member,reader"),
}
Y, N = True, False
# visibility: {caller: (show/download status, listed by default)}
EXPECTED = {
    "public": {c: (200, Y) for c in CALLERS},
    "community": {c: (200, c == "owner") for c in CALLERS},
    "shared": {
        "owner": (200, Y),
        "pending": (200, N),
        "accepted": (200, Y),
        "rejected": (200, N),
        "stranger": (404, N),
        "admin": (200, Y),
    },
    "private": {
        "owner": (200, Y),
        "pending": (404, N),
        "accepted": (404, N),
        "rejected": (404, N),
        "stranger": (404, N),
        "admin": (200, Y),
    },
}


async def image_with_data(api: Client, visibility: str) -> str:
    body = {
        "name": visibility,
        "disk_format": "raw",
        "container_format": "bare",
        "visibility": visibility,
        "owner": "proj-owner",
    }
    creator = CALLERS["admin"] if visibility == "public" else CALLERS["owner"]
    response = await api.post("/v2/images", json=body, headers=creator)
    assert response.status == 201, await response.text()
    image_id: str = (await response.json())["id"]
    upload = await api.put(
        f"/v2/images/{image_id}/file",
        data=io.BytesIO(b"bytes"),
        headers={**CALLERS["owner"], "Content-Type": "application/octet-stream"},
    )
    assert upload.status == 204
    return image_id


async def share(api: Client, image_id: str) -> None:
    members = f"/v2/images/{image_id}/members"
    for status in ("pending", "accepted", "rejected"):
        project = f"proj-{status}"
        added = await api.post(members, json={"member": project}, headers=CALLERS["owner"])
        assert added.status == 200
        if status != "pending":
            changed = await api.put(
                f"{members}/{project}", json={"status": status}, headers=CALLERS[status]
            )
            assert changed.status == 200


@pytest.mark.parametrize("visibility", list(EXPECTED))
async def test_the_visibility_matrix(api: Client, visibility: str) -> None:
    image_id = await image_with_data(api, visibility)
    if visibility == "shared":
        await share(api, image_id)
    for who, (status, listed) in EXPECTED[visibility].items():
        headers = CALLERS[who]
        show = await api.get(f"/v2/images/{image_id}", headers=headers)
        assert show.status == status, f"show by {who}"
        download = await api.get(f"/v2/images/{image_id}/file", headers=headers)
        assert download.status == status, f"download by {who}"
        if status == 200:
            assert await download.read() == b"bytes"
        page = await (await api.get("/v2/images", headers=headers)).json()
        assert (image_id in [i["id"] for i in page["images"]]) is listed, f"list by {who}"


async def test_a_reader_may_see_but_not_download(api: Client) -> None:
    image_id = await image_with_data(api, "private")
    reader = caller("proj-owner", "reader")
    assert (await api.get(f"/v2/images/{image_id}", headers=reader)).status == 200
    download = await api.get(
        f"/v2/images/{image_id}/file", headers={**reader, "Accept": "application/json"}
    )
    assert download.status == 403
    assert (await download.json())["message"].startswith(
        "You are not authorized to complete download_image action."
    )
