"""Glance 33's default rules, persona by persona, through the API: what each kind of caller may
do with a private image of project proj-a, and with nothing in particular.

- Readers read; members of the owning project change; admins (role `admin` on any project)
  do everything.
- A system-scoped token (Keystone's operators) is refused every rule of Glance's, which are
  all for project-scoped tokens: 403 where no image is named, 404 where one is.
- A service user (role `service`) may see the stores' details and list an image's locations
  only where it can see the image; the roles of a service token sent beside a user's
  (`X-Service-Token`, as compute sends it) are not the user's roles: rules see them only as
  `service_roles`. Where Glance itself counts them (attaching data in the catalog's stores),
  they count.
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiohttp import ClientResponse

from infra.bootstrap import Container
from tests.integration.conftest import JSON, event_count, uploaded_image_id
from tests.integration.conftest import ApiClient as Client


def caller(project: str | None, roles: str, **more: str) -> dict[str, str]:
    identity = {"X-User-Id": f"user-{project}", "X-Roles": roles, **JSON, **more}
    return {**identity, **({"X-Project-Id": project} if project else {})}


PERSONAS = {
    "admin": caller("proj-admin", "admin,member,reader"),
    "member": caller("proj-a", "member,reader"),
    "reader": caller("proj-a", "reader"),
    "no role": caller("proj-a", ""),
    "member elsewhere": caller("proj-c", "member,reader"),
    "system admin": caller(None, "admin,member,reader", **{"OpenStack-System-Scope": "all"}),
    "service": caller("proj-svc", "service"),
    "member with a service token": caller(
        "proj-a", "member,reader", **{"X-Service-Roles": "service"}
    ),
}
PERSONA_NAMES = list(PERSONAS)

Send = Callable[[Client, str, dict[str, str]], Awaitable[ClientResponse]]


def show(api: Client, image_id: str, headers: dict[str, str]) -> Awaitable[ClientResponse]:
    return api.get(f"/v2/images/{image_id}", headers=headers)


def download(api: Client, image_id: str, headers: dict[str, str]) -> Awaitable[ClientResponse]:
    return api.get(f"/v2/images/{image_id}/file", headers=headers)


def rename(api: Client, image_id: str, headers: dict[str, str]) -> Awaitable[ClientResponse]:
    patch = [{"op": "replace", "path": "/name", "value": "renamed"}]
    content = {"Content-Type": "application/openstack-images-v2.1-json-patch"}
    return api.patch(f"/v2/images/{image_id}", json=patch, headers={**headers, **content})


def tag(api: Client, image_id: str, headers: dict[str, str]) -> Awaitable[ClientResponse]:
    return api.put(f"/v2/images/{image_id}/tags/t1", headers=headers)


def locations(api: Client, image_id: str, headers: dict[str, str]) -> Awaitable[ClientResponse]:
    return api.get(f"/v2/images/{image_id}/locations", headers=headers)


def deactivate(api: Client, image_id: str, headers: dict[str, str]) -> Awaitable[ClientResponse]:
    return api.post(f"/v2/images/{image_id}/actions/deactivate", headers=headers)


def remove(api: Client, image_id: str, headers: dict[str, str]) -> Awaitable[ClientResponse]:
    return api.delete(f"/v2/images/{image_id}", headers=headers)


# On proj-a's private image with data, for each persona in PERSONA_NAMES' order.
ON_THE_IMAGE: dict[str, tuple[Send, tuple[int, ...]]] = {
    "show": (show, (200, 200, 200, 404, 404, 404, 404, 200)),
    "download": (download, (200, 200, 403, 404, 404, 404, 404, 200)),
    "rename": (rename, (200, 200, 403, 404, 404, 404, 404, 200)),
    "tag": (tag, (204, 204, 403, 404, 404, 404, 404, 204)),
    "locations": (locations, (200, 403, 403, 404, 404, 404, 404, 403)),
    "deactivate": (deactivate, (204, 204, 403, 404, 404, 404, 404, 204)),
    "delete": (remove, (204, 204, 403, 404, 404, 404, 404, 204)),
}


@pytest.mark.parametrize("operation", list(ON_THE_IMAGE))
async def test_what_each_persona_may_do_to_an_image(
    api: Client, container: Container, operation: str
) -> None:
    send, statuses = ON_THE_IMAGE[operation]
    for persona, expected in zip(PERSONA_NAMES, statuses, strict=True):
        image_id = await uploaded_image_id(api, headers=PERSONAS["member"])
        before = await event_count(container, image_id)
        response = await send(api, image_id, PERSONAS[persona])
        assert response.status == expected, f"{operation} by {persona}: {await response.text()}"
        if expected >= 400:
            assert await event_count(container, image_id) == before, f"{operation} by {persona}"
            message = (await response.json())["message"]
            if expected == 404:  # the route's own message for an image it cannot find
                assert image_id in message, message
            else:
                assert message.startswith("You are not authorized to complete "), message


async def test_what_each_persona_may_do_with_no_image_in_particular(api: Client) -> None:
    listing = (200, 200, 200, 403, 200, 403, 403, 200)
    creating = (201, 201, 403, 403, 201, 403, 403, 201)
    stores_detail = (200, 403, 403, 403, 403, 403, 200, 403)
    for i, persona in enumerate(PERSONA_NAMES):
        headers = PERSONAS[persona]
        listed = await api.get("/v2/images", headers=headers)
        assert listed.status == listing[i], f"list by {persona}"
        created = await api.post("/v2/images", json={"name": persona}, headers=headers)
        assert created.status == creating[i], f"create by {persona}"
        if created.status == 403:
            body = await created.json()
            assert body["message"].startswith("You are not authorized to complete add_image")
        detail = await api.get("/v2/info/stores/detail", headers=headers)
        assert detail.status == stores_detail[i], f"stores detail by {persona}"


async def test_only_admins_publicize_and_members_communitize(api: Client) -> None:
    for persona, public, community in [
        ("admin", 201, 201),
        ("member", 403, 201),
        ("reader", 403, 403),
    ]:
        for visibility, expected in (("public", public), ("community", community)):
            response = await api.post(
                "/v2/images", json={"visibility": visibility}, headers=PERSONAS[persona]
            )
            assert response.status == expected, f"{visibility} by {persona}"


@pytest.fixture
async def stored_location(container: Container) -> str:
    async def data() -> AsyncIterator[bytes]:
        yield b"bytes a service put there"

    return (await container.stores.named("file").add("from-compute", data())).location


async def test_a_service_token_beside_a_users_token_may_attach_data_in_the_stores(
    api: Client, container: Container, stored_location: str
) -> None:
    body = {"disk_format": "raw", "container_format": "bare"}
    for persona, expected in [("member", 403), ("member with a service token", 202)]:
        created = await api.post("/v2/images", json=body, headers=PERSONAS["member"])
        image_id = (await created.json())["id"]
        response = await api.post(
            f"/v2/images/{image_id}/locations",
            json={"url": stored_location},
            headers=PERSONAS[persona],
        )
        assert response.status == expected, f"{persona}: {await response.text()}"


async def test_an_admin_of_any_project_downloads_a_deactivated_image_others_may_not(
    api: Client,
) -> None:
    image_id = await uploaded_image_id(api, b"bytes", headers=PERSONAS["member"])
    assert (await deactivate(api, image_id, PERSONAS["member"])).status == 204
    refused = await download(api, image_id, PERSONAS["member"])
    assert refused.status == 403
    assert (await refused.json())["message"].startswith("The requested image has been deactivated")
    allowed = await download(api, image_id, PERSONAS["admin"])
    assert allowed.status == 200
    assert await allowed.read() == b"bytes"


async def test_a_readers_upload_is_refused_and_changes_nothing(
    api: Client, container: Container
) -> None:
    created = await api.post(
        "/v2/images",
        json={"disk_format": "raw", "container_format": "bare"},
        headers=PERSONAS["member"],
    )
    image_id = (await created.json())["id"]
    before = await event_count(container)
    response = await api.put(
        f"/v2/images/{image_id}/file",
        data=io.BytesIO(b"bytes"),
        headers={**PERSONAS["reader"], "Content-Type": "application/octet-stream"},
    )
    assert response.status == 403
    assert (await response.json())["message"].startswith(
        "You are not authorized to complete upload_image action."
    )
    assert await event_count(container) == before
