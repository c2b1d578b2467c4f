"""Every read goes through the policy: a caller who may not read at all is refused the list
(403, `get_images`) and finds no image on every other read route (404: `get_image` refuses
them, and an image one may not get is never said to exist), as Glance answers; nothing is
recorded either way."""

from __future__ import annotations

import functools

import pytest
from aiohttp import web

from infra.bootstrap import Container
from tests.integration.conftest import ADMIN, JSON, refused_without_change, uploaded_image_id
from tests.integration.conftest import ApiClient as Client

CALLERS_WHO_MAY_NOT_READ = {
    # A token scoped to no project is refused every project-scoped rule.
    "a member of no project": {"X-User-Id": "drifter", "X-Roles": "member,reader"},
    "a project without roles": {"X-Project-Id": "proj-a", "X-User-Id": "nobody", "X-Roles": ""},
}


def image_read_paths(app: web.Application) -> list[str]:
    """Every GET route of the API about images, as a path (found from the router, so that a
    read added later is covered too)."""
    paths = []
    for route in app.router.routes():
        canonical = route.resource.canonical if route.resource is not None else ""
        if route.method == "GET" and canonical.partition("}")[2].startswith("/images"):
            paths.append("/v2" + canonical.partition("}")[2])
    return sorted(paths)


def test_every_image_read_is_found(api: Client) -> None:
    assert image_read_paths(api.app) == [
        "/v2/images",
        "/v2/images/{image_id}",
        "/v2/images/{image_id}/file",
        "/v2/images/{image_id}/history",
        "/v2/images/{image_id}/locations",
        "/v2/images/{image_id}/members",
        "/v2/images/{image_id}/members/{member_id}",
        "/v2/images/{image_id}/tasks",
    ]


@pytest.mark.parametrize("caller", list(CALLERS_WHO_MAY_NOT_READ))
async def test_every_read_refuses_a_caller_who_may_not_read(
    api: Client, container: Container, caller: str
) -> None:
    # A public image with data: the one every caller who may read can show and download.
    image_id = await uploaded_image_id(api, headers=ADMIN, visibility="public")
    headers = {**CALLERS_WHO_MAY_NOT_READ[caller], **JSON}
    for template in image_read_paths(api.app):
        path = template.format(image_id=image_id, member_id="proj-b")
        status, message = (403, "You are not authorized to complete get_images action.")
        if "{image_id}" in template:
            status, message = (404, f"No image found with ID {image_id}")
            if "/members" in template:
                status, message = (404, f"Image {image_id} not found.")
            if template.endswith("/tasks"):
                status, message = (404, "The resource could not be found.")
        await refused_without_change(
            container, functools.partial(api.get, path, headers=headers), status, message
        )
