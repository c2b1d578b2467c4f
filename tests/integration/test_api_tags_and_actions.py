"""Tags (PUT/DELETE) and deactivate/reactivate, with Glance's answers; refusals change nothing."""

from __future__ import annotations

import io
from typing import Any

import pytest

from infra.bootstrap import Container
from tests.integration.conftest import (
    ADMIN,
    JSON,
    PROJECT_A,
    PROJECT_B,
    READER_A,
    ApiFactory,
    event_count,
    refused_without_change,
)
from tests.integration.conftest import ApiClient as Client
from tests.integration.conftest import created_image_id as new_image

HEADERS = {**PROJECT_A, **JSON}


async def active_image(api: Client, headers: dict[str, str] = PROJECT_A, **body: Any) -> str:
    image_id = await new_image(api, headers, **body)
    response = await api.put(
        f"/v2/images/{image_id}/file",
        data=io.BytesIO(b"data"),
        headers={**headers, "Content-Type": "application/octet-stream"},
    )
    assert response.status == 204
    return image_id


async def shown(api: Client, image_id: str, headers: dict[str, str] = HEADERS) -> dict[str, Any]:
    body: dict[str, Any] = await (await api.get(f"/v2/images/{image_id}", headers=headers)).json()
    return body


async def refused(
    api: Client,
    container: Container,
    method: str,
    path: str,
    status: int,
    start: str,
    headers: dict[str, str] = HEADERS,
) -> None:
    await refused_without_change(
        container, lambda: api.request(method, path, headers=headers), status, start
    )


# -- tags -------------------------------------------------------------------------------------


async def test_tags_are_a_set(api: Client, container: Container) -> None:
    image_id = await new_image(api, tags=["keep"])
    assert (await api.put(f"/v2/images/{image_id}/tags/new", headers=HEADERS)).status == 204
    before = await event_count(container)
    assert (await api.put(f"/v2/images/{image_id}/tags/new", headers=HEADERS)).status == 204
    assert await event_count(container) == before, "putting a tag twice records nothing"
    assert sorted((await shown(api, image_id))["tags"]) == ["keep", "new"]

    assert (await api.delete(f"/v2/images/{image_id}/tags/keep", headers=HEADERS)).status == 204
    assert (await shown(api, image_id))["tags"] == ["new"]


async def test_removing_a_missing_tag_is_404(api: Client, container: Container) -> None:
    image_id = await new_image(api)
    await refused(
        api,
        container,
        "DELETE",
        f"/v2/images/{image_id}/tags/none",
        404,
        "The resource could not be found.",
    )


async def test_a_tag_over_255_characters_is_400(api: Client, container: Container) -> None:
    image_id = await new_image(api)
    await refused(
        api,
        container,
        "PUT",
        f"/v2/images/{image_id}/tags/{'t' * 256}",
        400,
        "Provided object does not match schema 'image': 'tttt",
    )


async def test_tags_of_an_image_one_cannot_see_or_change(api: Client, container: Container) -> None:
    private = await new_image(api)
    await refused(
        api,
        container,
        "PUT",
        f"/v2/images/{private}/tags/x",
        404,
        f"No image found with ID {private}",
        {**PROJECT_B, **JSON},
    )
    public = await new_image(api, ADMIN, visibility="public")
    await refused(
        api,
        container,
        "PUT",
        f"/v2/images/{public}/tags/x",
        403,
        "You are not authorized to complete modify_image action.",
        {**PROJECT_B, **JSON},
    )
    await refused(
        api, container, "PUT", "/v2/images/nope/tags/x", 404, "No image found with ID nope"
    )


async def test_the_tag_quota_is_413(api_with: ApiFactory) -> None:
    api, container = await api_with(image_tag_quota=2)
    image_id = await new_image(api, tags=["a", "b"])
    await refused(
        api,
        container,
        "PUT",
        f"/v2/images/{image_id}/tags/c",
        413,
        f"Image tag limit exceeded for image {image_id}",
    )


# -- deactivate / reactivate ------------------------------------------------------------------


async def test_deactivate_blocks_downloads_for_non_admins_until_reactivated(
    api: Client, container: Container
) -> None:
    image_id = await active_image(api)
    action = f"/v2/images/{image_id}/actions"
    assert (await api.post(f"{action}/deactivate", headers=HEADERS)).status == 204
    assert (await shown(api, image_id))["status"] == "deactivated"
    await refused(
        api,
        container,
        "GET",
        f"/v2/images/{image_id}/file",
        403,
        "The requested image has been deactivated.",
    )
    admin = await api.get(f"/v2/images/{image_id}/file", headers=ADMIN)
    assert admin.status == 200
    assert await admin.read() == b"data"

    before = await event_count(container, image_id)
    assert (await api.post(f"{action}/deactivate", headers=HEADERS)).status == 204
    assert await event_count(container, image_id) == before, "deactivating twice records nothing"

    assert (await api.post(f"{action}/reactivate", headers=HEADERS)).status == 204
    assert (await shown(api, image_id))["status"] == "active"
    assert (await api.get(f"/v2/images/{image_id}/file", headers=HEADERS)).status == 200
    assert (await api.post(f"{action}/reactivate", headers=HEADERS)).status == 204


@pytest.mark.parametrize("action", ["deactivate", "reactivate"])
async def test_only_active_and_deactivated_images_take_actions(
    api: Client, container: Container, action: str
) -> None:
    image_id = await new_image(api)
    await refused(
        api,
        container,
        "POST",
        f"/v2/images/{image_id}/actions/{action}",
        403,
        f"Not allowed to {action} image in status 'queued'",
    )


async def test_actions_need_the_owner_or_an_admin(api: Client, container: Container) -> None:
    image_id = await active_image(api, ADMIN, visibility="public")
    path = f"/v2/images/{image_id}/actions/deactivate"
    await refused(
        api,
        container,
        "POST",
        path,
        403,
        "You are not authorized to complete deactivate action.",
        {**PROJECT_B, **JSON},
    )
    own = await active_image(api)
    await refused(
        api,
        container,
        "POST",
        f"/v2/images/{own}/actions/deactivate",
        403,
        "You are not authorized to complete deactivate action.",
        {**READER_A, **JSON},
    )
