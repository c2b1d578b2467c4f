"""Every client mistake gets a Glance-style 4xx and changes nothing: no event, no bytes."""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import ClientResponse

from infra.bootstrap import Container
from tests.integration.conftest import JSON, PROJECT_A, event_count, stored_files
from tests.integration.conftest import ApiClient as Client
from tests.integration.conftest import created_image_id as queued_image

HEADERS = {**PROJECT_A, **JSON}


async def assert_rejected(
    container: Container,
    send: Callable[[], Awaitable[ClientResponse]],
    status: int,
    message_start: str,
) -> dict[str, Any]:
    before = await event_count(container)
    files = stored_files(container)
    response = await send()
    assert response.status == status, await response.text()
    body: dict[str, Any] = await response.json()
    assert body["message"].startswith(message_start), body["message"]
    assert body["code"].startswith(str(status))
    assert body["title"]
    assert await event_count(container) == before, "a rejected request appended events"
    assert stored_files(container) == files, "a rejected request left bytes behind"
    return body


def post_raw(api: Client, body: bytes) -> Callable[[], Awaitable[ClientResponse]]:
    return lambda: api.post(
        "/v2/images", data=body, headers={**HEADERS, "Content-Type": "application/json"}
    )


async def test_malformed_json(api: Client, container: Container) -> None:
    await assert_rejected(
        container, post_raw(api, b'{"name": '), 400, "Malformed JSON in request body."
    )


@pytest.mark.parametrize("body", [[], ["name"], "a string", 42, None])
async def test_a_body_that_is_not_an_object(api: Client, container: Container, body: Any) -> None:
    await assert_rejected(
        container,
        post_raw(api, json.dumps(body).encode()),
        400,
        "The request body must be a JSON object.",
    )


@pytest.mark.parametrize(
    ("field", "value", "fragment"),
    [
        ("min_ram", "lots", "'lots' is not of type 'integer'"),
        ("protected", "yes", "'yes' is not of type 'boolean'"),
        ("tags", "single", "'single' is not of type 'array'"),
        ("disk_format", "bogus", "'bogus' is not one of [None, 'ami'"),
        ("visibility", "everyone", "'everyone' is not one of ['community'"),
        ("custom_prop", 5, "5 is not of type 'string'"),
    ],
)
async def test_wrong_types(
    api: Client, container: Container, field: str, value: Any, fragment: str
) -> None:
    body = await assert_rejected(
        container,
        lambda: api.post("/v2/images", json={field: value}, headers=HEADERS),
        400,
        "Provided object does not match schema 'image': ",
    )
    assert fragment in body["message"]


async def test_a_name_over_255_characters(api: Client, container: Container) -> None:
    await assert_rejected(
        container,
        lambda: api.post("/v2/images", json={"name": "n" * 256}, headers=HEADERS),
        400,
        "Provided object does not match schema 'image': 'nnnn",
    )


async def test_a_negative_min_disk(api: Client, container: Container) -> None:
    await assert_rejected(
        container,
        lambda: api.post("/v2/images", json={"min_disk": -1}, headers=HEADERS),
        400,
        "Invalid value '-1' for parameter 'min_disk': Cannot be a negative value",
    )


async def test_an_id_that_is_not_a_uuid(api: Client, container: Container) -> None:
    await assert_rejected(
        container,
        lambda: api.post("/v2/images", json={"id": "not-a-uuid"}, headers=HEADERS),
        400,
        "Provided object does not match schema 'image': 'not-a-uuid' does not match",
    )


@pytest.mark.parametrize("field", ["status", "checksum", "size", "created_at", "os_hash_value"])
async def test_read_only_attributes(api: Client, container: Container, field: str) -> None:
    value: Any = 5 if field == "size" else "active" if field == "status" else "x"
    await assert_rejected(
        container,
        lambda: api.post("/v2/images", json={field: value}, headers=HEADERS),
        403,
        f"Attribute '{field}' is read-only.",
    )


@pytest.mark.parametrize("field", ["self", "file", "schema", "direct_url", "stores"])
async def test_disallowed_attributes(api: Client, container: Container, field: str) -> None:
    await assert_rejected(
        container,
        lambda: api.post("/v2/images", json={field: "x"}, headers=HEADERS),
        403,
        f"Attribute '{field}' is read-only.",
    )


@pytest.mark.parametrize("field", ["location", "deleted", "os_glance_import_task"])
async def test_reserved_attributes(api: Client, container: Container, field: str) -> None:
    await assert_rejected(
        container,
        lambda: api.post("/v2/images", json={field: "x"}, headers=HEADERS),
        403,
        f"Attribute '{field}' is reserved.",
    )


async def test_public_visibility_needs_admin(api: Client, container: Container) -> None:
    await assert_rejected(
        container,
        lambda: api.post("/v2/images", json={"visibility": "public"}, headers=HEADERS),
        403,
        "You are not authorized to complete publicize_image action.",
    )


async def test_an_owner_other_than_the_own_project(api: Client, container: Container) -> None:
    body = await assert_rejected(
        container,
        lambda: api.post("/v2/images", json={"owner": "proj-b"}, headers=HEADERS),
        403,
        "Access was denied to this resource.",
    )
    assert "You are not permitted to create images owned by 'proj-b'\n" in body["message"]


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/v2/images/nope", "No image found with ID nope"),
        (f"/v2/images/{uuid.UUID(int=7)}", f"No image found with ID {uuid.UUID(int=7)}"),
        ("/v2/images/nope/file", "No image found with ID nope"),
    ],
)
async def test_unknown_or_malformed_image_ids_are_404(
    api: Client, container: Container, path: str, message: str
) -> None:
    await assert_rejected(container, lambda: api.get(path, headers=HEADERS), 404, message)


async def test_delete_with_a_malformed_id(api: Client, container: Container) -> None:
    await assert_rejected(
        container,
        lambda: api.delete("/v2/images/nope", headers=HEADERS),
        404,
        "Failed to find image nope to delete",
    )


@pytest.mark.parametrize("path", ["/v2/images", "/v2/images/{id}", "/v2/images/{id}/file"])
async def test_a_body_on_a_get(api: Client, container: Container, path: str) -> None:
    image_id = await queued_image(api)
    await assert_rejected(
        container,
        lambda: api.get(path.format(id=image_id), data=b"{}", headers=HEADERS),
        400,
        "A body is not expected with this request.",
    )


@pytest.mark.parametrize("content_type", ["text/plain", "application/json"])
async def test_an_upload_with_the_wrong_content_type(
    api: Client, container: Container, content_type: str
) -> None:
    image_id = await queued_image(api)
    body = await assert_rejected(
        container,
        lambda: api.put(
            f"/v2/images/{image_id}/file",
            data=b"data",
            headers={**HEADERS, "Content-Type": content_type},
        ),
        415,
        f"The request media type {content_type} is not supported by this server.",
    )
    assert body["message"].endswith(f"Invalid content type {content_type}")


async def test_an_upload_to_an_image_without_formats(api: Client, container: Container) -> None:
    response = await api.post("/v2/images", json={}, headers=PROJECT_A)
    image_id = (await response.json())["id"]
    await assert_rejected(
        container,
        lambda: api.put(
            f"/v2/images/{image_id}/file",
            data=b"data",
            headers={**HEADERS, "Content-Type": "application/octet-stream"},
        ),
        400,
        "Properties disk_format, container_format must be set prior to saving data.",
    )


async def test_an_upload_shorter_than_its_declared_size(api: Client, container: Container) -> None:
    image_id = await queued_image(api)
    before = await event_count(container)
    response = await api.put(
        f"/v2/images/{image_id}/file",
        data=b"four",
        headers={
            **HEADERS,
            "Content-Type": "application/octet-stream",
            "x-openstack-image-size": "10",
        },
    )
    assert response.status == 400
    shown = await (await api.get(f"/v2/images/{image_id}", headers=HEADERS)).json()
    assert shown["status"] == "queued"
    assert stored_files(container) == []
    # The attempt is history (started, then failed), but the image is as it was.
    assert await event_count(container) == before + 2


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("limit=abc", "limit param must be an integer"),
        ("limit=-1", "limit param must be positive"),
        (f"marker={uuid.UUID(int=9)}", f"No image found with ID {uuid.UUID(int=9)}"),
        ("marker=nope", "No image found with ID nope"),
    ],
)
async def test_bad_list_parameters(
    api: Client, container: Container, query: str, message: str
) -> None:
    await assert_rejected(
        container, lambda: api.get(f"/v2/images?{query}", headers=HEADERS), 400, message
    )


async def test_an_unknown_url_is_404(api: Client, container: Container) -> None:
    await assert_rejected(
        container,
        lambda: api.get("/v2/nothing", headers=HEADERS),
        404,
        "The resource could not be found.",
    )


async def test_a_wrong_method_is_405_with_allow(api: Client, container: Container) -> None:
    before = await event_count(container)
    response = await api.put("/v2/images", headers=HEADERS)
    assert response.status == 405
    assert set(response.headers["Allow"].split(", ")) == {"GET", "POST"}
    assert (await response.json())["message"].startswith(
        "The method PUT is not allowed for this resource."
    )
    assert await event_count(container) == before


async def test_errors_are_html_unless_json_is_accepted(api: Client) -> None:
    response = await api.get("/v2/images/nope", headers={**PROJECT_A, "Accept": "*/*"})
    assert response.status == 404
    assert response.content_type == "text/html"
    text = await response.text()
    assert "<title>404 Not Found</title>" in text
    assert "No image found with ID nope" in text
