"""PATCH /v2/images/{id}: both media types, Glance's rules and messages, one event per request."""

from __future__ import annotations

import io
import json
import uuid
from typing import Any

import pytest

from infra.bootstrap import Container
from tests.integration.conftest import (
    ADMIN,
    JSON,
    PROJECT_A,
    PROJECT_B,
    ApiFactory,
    event_count,
    refused_without_change,
)
from tests.integration.conftest import ApiClient as Client
from tests.integration.conftest import created_image_id as new_image

V21 = "application/openstack-images-v2.1-json-patch"
V20 = "application/openstack-images-v2.0-json-patch"
HEADERS = {**PROJECT_A, **JSON}


async def patch(
    api: Client,
    image_id: str,
    body: Any,
    media_type: str = V21,
    headers: dict[str, str] = HEADERS,
) -> Any:
    return await api.patch(
        f"/v2/images/{image_id}",
        data=json.dumps(body) if not isinstance(body, bytes) else body,
        headers={**headers, "Content-Type": media_type},
    )


async def history(container: Container, image_id: str) -> list[str]:
    return [e.event_type for e in await container.log.load_stream(uuid.UUID(image_id))]


async def test_all_operations_of_a_request_are_one_change(
    api: Client, container: Container
) -> None:
    image_id = await new_image(api, os_distro="debian", tmp="x", tags=["old"])
    response = await patch(
        api,
        image_id,
        [
            {"op": "replace", "path": "/name", "value": "renamed"},
            {"op": "add", "path": "/os_version", "value": "12"},
            {"op": "replace", "path": "/os_distro", "value": "ubuntu"},
            {"op": "remove", "path": "/tmp"},
            {"op": "replace", "path": "/tags", "value": ["b", "a", "b"]},
            {"op": "replace", "path": "/protected", "value": True},
            {"op": "add", "path": "/min_ram", "value": 512},
            {"op": "replace", "path": "/os_hidden", "value": True},
            {"op": "replace", "path": "/disk_format", "value": "qcow2"},
        ],
    )
    assert response.status == 200, await response.text()
    body = await response.json()
    assert body["name"] == "renamed"
    assert (body["os_version"], body["os_distro"]) == ("12", "ubuntu")
    assert "tmp" not in body
    assert sorted(body["tags"]) == ["a", "b"]
    assert (body["protected"], body["min_ram"], body["os_hidden"]) == (True, 512, True)
    assert body["disk_format"] == "qcow2"
    assert await history(container, image_id) == ["image.created", "image.updated"]
    again = await (await api.get(f"/v2/images/{image_id}", headers=HEADERS)).json()
    assert again == body


async def test_a_patch_that_changes_nothing_records_nothing(
    api: Client, container: Container
) -> None:
    image_id = await new_image(api, name="same")
    before = await event_count(container)
    response = await patch(api, image_id, [{"op": "replace", "path": "/name", "value": "same"}])
    assert response.status == 200
    assert await event_count(container) == before


async def test_the_older_media_type(api: Client, container: Container) -> None:
    image_id = await new_image(api, prop="1")
    response = await patch(api, image_id, [{"replace": "/name", "value": "v20"}], V20)
    assert response.status == 200
    assert (await response.json())["name"] == "v20"
    for path in ("/name", "/prop"):
        before = await event_count(container)
        refused = await patch(api, image_id, [{"add": path, "value": "x"}], V20)
        assert refused.status == 409
        assert "already present" in (await refused.json())["message"]
        assert await event_count(container) == before


async def test_add_overwrites_with_the_newer_media_type(api: Client) -> None:
    image_id = await new_image(api, prop="1")
    response = await patch(api, image_id, [{"op": "add", "path": "/prop", "value": "2"}])
    assert (await response.json())["prop"] == "2"


async def test_admin_may_change_owner_and_publish(api: Client) -> None:
    image_id = await new_image(api)
    response = await patch(
        api,
        image_id,
        [
            {"op": "replace", "path": "/owner", "value": "proj-b"},
            {"op": "replace", "path": "/visibility", "value": "public"},
        ],
        headers={**ADMIN, **JSON},
    )
    assert response.status == 200
    body = await response.json()
    assert (body["owner"], body["visibility"]) == ("proj-b", "public")


# -- refusals: each changes nothing ---------------------------------------------------------


async def refused(
    api: Client,
    container: Container,
    image_id: str,
    body: Any,
    status: int,
    message: str,
    media_type: str = V21,
    headers: dict[str, str] = HEADERS,
) -> Any:
    return await refused_without_change(
        container,
        lambda: patch(api, image_id, body, media_type, headers),
        status,
        message,
        anywhere=True,
    )


async def test_the_wrong_media_type_is_415_with_accept_patch(
    api: Client, container: Container
) -> None:
    image_id = await new_image(api)
    response = await refused(
        api,
        container,
        image_id,
        [],
        415,
        "The request media type application/json is not supported by this server.\n<br /><br />\n"
        "Image PATCH expects Content-Type one of: " + V20 + ", " + V21,
        media_type="application/json",
    )
    assert response.headers["Accept-Patch"] == f"{V20}, {V21}"


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        (b"[{", 400, "Malformed JSON in request body."),
        ({"op": "add"}, 400, "Request body must be a JSON array of operation objects."),
        (["add"], 400, "Operations must be JSON objects."),
        ([{"path": "/name", "value": "x"}], 400, "Unable to find `op` in JSON Schema change."),
        ([{"op": "test", "path": "/name"}], 400, "Invalid operation: `test`."),
        ([{"op": "add", "value": "x"}], 400, "Unable to find 'path' in JSON Schema change"),
        ([{"op": "add", "path": "name", "value": "x"}], 400, "Pointer `name` does not start"),
        ([{"op": "add", "path": "/a//b", "value": "x"}], 400, 'contains adjacent "/"'),
        ([{"op": "add", "path": "/a/", "value": "x"}], 400, 'end with "/"'),
        ([{"op": "add", "path": "/a~2", "value": "x"}], 400, "not part of a recognized escape"),
        ([{"op": "add", "path": "/a/b", "value": "x"}], 400, "Invalid JSON pointer for this"),
        ([{"op": "add", "path": "/name"}], 400, 'Operation "add" requires a member named "value"'),
        (
            [{"op": "replace", "path": "/status", "value": "active"}],
            403,
            "Attribute 'status' is read-only.",
        ),
        ([{"op": "replace", "path": "/id", "value": "x"}], 403, "Attribute 'id' is read-only."),
        (
            [{"op": "replace", "path": "/checksum", "value": "x"}],
            403,
            "Attribute 'checksum' is read-only.",
        ),
        (
            [{"op": "add", "path": "/deleted", "value": "x"}],
            403,
            "Attribute 'deleted' is reserved.",
        ),
        (
            [{"op": "add", "path": "/os_glance_x", "value": "x"}],
            403,
            "Attribute 'os_glance_x' is reserved.",
        ),
        ([{"op": "add", "path": "/locations/-", "value": {}}], 403, "locations are invisible"),
        (
            [{"op": "replace", "path": "/name", "value": 5}],
            400,
            "5 is not of type 'null', 'string'",
        ),
        ([{"op": "replace", "path": "/name", "value": "n" * 256}], 400, "is too long"),
        ([{"op": "add", "path": "/prop", "value": 5}], 400, "5 is not of type 'string'"),
        (
            [{"op": "replace", "path": "/min_ram", "value": -1}],
            400,
            "Invalid value '-1' for parameter 'min_ram': Cannot be a negative value",
        ),
        (
            [{"op": "replace", "path": "/visibility", "value": "public"}],
            403,
            "You are not authorized to complete publicize_image action.",
        ),
        (
            [{"op": "replace", "path": "/owner", "value": "proj-b"}],
            403,
            "Access was denied to this resource.<br /><br />\nOwner can't be updated by non admin.",
        ),
        ([{"op": "remove", "path": "/name"}], 403, "Property name may not be removed."),
        (
            [{"op": "replace", "path": "/nothere", "value": "x"}],
            409,
            "There was a conflict when trying to complete your request.<br /><br />\n"
            "Property nothere does not exist.\n\n",
        ),
        ([{"op": "remove", "path": "/nothere"}], 409, "Property nothere does not exist."),
        (
            [
                {"op": "replace", "path": "/name", "value": "ok"},
                {"op": "remove", "path": "/nothere"},
            ],
            409,
            "Property nothere does not exist.",
        ),
    ],
)
async def test_refusals_change_nothing(
    api: Client, container: Container, body: Any, status: int, message: str
) -> None:
    image_id = await new_image(api, name="before")
    await refused(api, container, image_id, body, status, message)
    shown = await (await api.get(f"/v2/images/{image_id}", headers=HEADERS)).json()
    assert shown["name"] == "before"


async def test_formats_change_only_while_queued(api: Client, container: Container) -> None:
    image_id = await new_image(api)
    upload = await api.put(
        f"/v2/images/{image_id}/file",
        data=io.BytesIO(b"x"),
        headers={**PROJECT_A, "Content-Type": "application/octet-stream"},
    )
    assert upload.status == 204
    await refused(
        api,
        container,
        image_id,
        [{"op": "replace", "path": "/disk_format", "value": "qcow2"}],
        403,
        "Attribute disk_format can be only replaced for a queued image.",
    )


async def test_other_projects_cannot_patch(api: Client, container: Container) -> None:
    private = await new_image(api)
    await refused(
        api,
        container,
        private,
        [{"op": "replace", "path": "/name", "value": "x"}],
        404,
        f"No image found with ID {private}",
        headers={**PROJECT_B, **JSON},
    )
    public = await new_image(api, ADMIN, visibility="public")
    await refused(
        api,
        container,
        public,
        [{"op": "replace", "path": "/name", "value": "x"}],
        403,
        "You are not authorized to complete modify_image action.",
        headers={**PROJECT_B, **JSON},
    )


async def test_property_and_tag_quotas_are_413(api_with: ApiFactory) -> None:
    api, container = await api_with(image_property_quota=1, image_tag_quota=1)
    image_id = await new_image(api, one="1")
    await refused(
        api,
        container,
        image_id,
        [{"op": "add", "path": "/two", "value": "2"}],
        413,
        "allowed image properties. Attempted: 2, Maximum: 1",
    )
    await refused(
        api,
        container,
        image_id,
        [{"op": "replace", "path": "/tags", "value": ["a", "b"]}],
        413,
        "allowed image tags. Attempted: 2, Maximum: 1",
    )
    ok = await patch(api, image_id, [{"op": "replace", "path": "/one", "value": "changed"}])
    assert ok.status == 200


async def test_create_respects_the_quotas_too(api_with: ApiFactory) -> None:
    api, container = await api_with(image_property_quota=1, image_tag_quota=1)
    for body, message in (
        ({"a": "1", "b": "2"}, "allowed image properties. Attempted: 2, Maximum: 1"),
        ({"tags": ["a", "b"]}, "allowed image tags. Attempted: 2, Maximum: 1"),
    ):
        before = await event_count(container)
        response = await api.post("/v2/images", json=body, headers=HEADERS)
        assert response.status == 413
        assert message in (await response.json())["message"]
        assert await event_count(container) == before
