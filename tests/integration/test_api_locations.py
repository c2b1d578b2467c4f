"""POST /v2/images/{id}/locations: attach data already in a store; hashed before activation."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from typing import Any

import pytest

from infra.bootstrap import Container
from tests.integration.conftest import (
    JSON,
    PROJECT_A,
    PROJECT_B,
    event_count,
    refused_without_change,
)
from tests.integration.conftest import ApiClient as Client
from tests.integration.conftest import created_image_id as queued_image

DATA = b"bytes already in the store" * 1000
# The compute service acting for a user of proj-a: data in the catalog's own stores may only be
# attached by a caller with the service role.
HEADERS = {**PROJECT_A, **JSON, "X-Roles": "member,reader,service"}


async def chunks() -> AsyncIterator[bytes]:
    yield DATA


@pytest.fixture
async def location(container: Container) -> str:
    stored = await container.stores.named("file").add("preloaded-object", chunks())
    return stored.location


async def test_a_location_activates_the_image_with_its_hashes(api: Client, location: str) -> None:
    image_id = await queued_image(api)
    response = await api.post(
        f"/v2/images/{image_id}/locations", json={"url": location}, headers=HEADERS
    )
    assert response.status == 202
    shown = await (await api.get(f"/v2/images/{image_id}", headers=HEADERS)).json()
    assert shown["status"] == "active"
    assert shown["size"] == len(DATA)
    assert shown["checksum"] == hashlib.md5(DATA).hexdigest()
    assert shown["os_hash_value"] == hashlib.sha512(DATA).hexdigest()
    download = await api.get(f"/v2/images/{image_id}/file", headers=HEADERS)
    assert await download.read() == DATA


async def test_matching_validation_data_is_accepted(api: Client, location: str) -> None:
    image_id = await queued_image(api)
    body = {
        "url": location,
        "validation_data": {
            "os_hash_algo": "sha256",
            "os_hash_value": hashlib.sha256(DATA).hexdigest(),
        },
    }
    response = await api.post(f"/v2/images/{image_id}/locations", json=body, headers=HEADERS)
    assert response.status == 202


async def test_empty_validation_data_asks_for_no_check(api: Client, location: str) -> None:
    # As Glance's schema: both hash fields or neither. Tempest's client always sends the key.
    image_id = await queued_image(api)
    body = {"url": location, "validation_data": {}}
    response = await api.post(f"/v2/images/{image_id}/locations", json=body, headers=HEADERS)
    assert response.status == 202, await response.text()
    shown = await (await api.get(f"/v2/images/{image_id}", headers=HEADERS)).json()
    assert (shown["status"], shown["os_hash_value"]) == ("active", hashlib.sha512(DATA).hexdigest())


async def assert_refused(
    api: Client, container: Container, image_id: str, body: Any, status: int, start: str
) -> None:
    path = f"/v2/images/{image_id}/locations"
    await refused_without_change(
        container, lambda: api.post(path, json=body, headers=HEADERS), status, start
    )


async def image_tasks(api: Client, image_id: str) -> list[dict[str, Any]]:
    response = await api.get(f"/v2/images/{image_id}/tasks", headers=HEADERS)
    assert response.status == 200, await response.text()
    tasks: list[dict[str, Any]] = (await response.json())["tasks"]
    return tasks


async def test_the_location_import_is_a_task_with_the_hash_asked_for(
    api: Client, location: str
) -> None:
    image_id = await queued_image(api)
    wanted = {"os_hash_algo": "sha256", "os_hash_value": hashlib.sha256(DATA).hexdigest()}
    body = {"url": location, "validation_data": wanted}
    response = await api.post(f"/v2/images/{image_id}/locations", json=body, headers=HEADERS)
    assert response.status == 202
    [task] = await image_tasks(api, image_id)
    assert (task["type"], task["status"], task["image_id"]) == (
        "location_import",
        "success",
        image_id,
    )
    assert task["result"] == {"image_id": image_id}
    assert task["input"]["validation_data"] == wanted
    shown = await (await api.get(f"/v2/images/{image_id}", headers=HEADERS)).json()
    assert (shown["os_hash_algo"], shown["os_hash_value"]) == ("sha256", wanted["os_hash_value"])


async def test_mismatching_validation_data_fails_the_task_and_leaves_the_image_queued(
    api: Client, container: Container, location: str
) -> None:
    # As Glance: the data is read after the request is accepted, so the answer is 202 and the
    # failure is the task's; the image gets no data.
    image_id = await queued_image(api)
    wrong = {"os_hash_algo": "sha256", "os_hash_value": "0" * 64}
    body = {"url": location, "validation_data": wrong}
    response = await api.post(f"/v2/images/{image_id}/locations", json=body, headers=HEADERS)
    assert response.status == 202
    [task] = await image_tasks(api, image_id)
    assert (task["type"], task["status"]) == ("location_import", "failure")
    assert task["message"].startswith(f"os_hash_value: ({'0' * 64}) not matched")
    shown = await (await api.get(f"/v2/images/{image_id}", headers=HEADERS)).json()
    assert (shown["status"], shown["checksum"], shown["os_hash_value"]) == ("queued", None, None)
    assert "stores" not in shown  # in the catalog's own store: not the image's, not listed


@pytest.mark.parametrize(
    ("body", "start"),
    [
        ({}, "url is required"),
        ({"url": 5}, "url is required"),
        ({"url": "ftp://elsewhere/x"}, "No configured store holds the location"),
        ({"url": "file:///etc/passwd"}, "No configured store holds the location"),
        ({"url": "{location}", "extra": 1}, "Unexpected attributes: extra."),
        ({"url": "{location}", "validation_data": {"os_hash_algo": "sha256"}}, "validation_data"),
        (
            {"url": "{location}", "validation_data": {"os_hash_algo": "crc", "os_hash_value": "0"}},
            "Invalid os_hash_algo: crc",
        ),
        (
            {"url": "{location}", "validation_data": {"os_hash_algo": "md5", "os_hash_value": "0"}},
            "os_hash_value has an unexpected length",
        ),
    ],
)
async def test_bad_requests_change_nothing(
    api: Client, container: Container, location: str, body: dict[str, Any], start: str
) -> None:
    image_id = await queued_image(api)
    if body.get("url") == "{location}":
        body = {**body, "url": location}
    await assert_refused(api, container, image_id, body, 400, start)


async def test_only_a_queued_image_takes_a_location(
    api: Client, container: Container, location: str
) -> None:
    image_id = await queued_image(api)
    first = await api.post(
        f"/v2/images/{image_id}/locations", json={"url": location}, headers=HEADERS
    )
    assert first.status == 202
    await assert_refused(
        api,
        container,
        image_id,
        {"url": location},
        409,
        "It's not allowed to add locations if image status is active.",
    )


async def test_another_project_cannot_add_a_location(
    api: Client, container: Container, location: str
) -> None:
    image_id = await queued_image(api)
    before = await event_count(container)
    response = await api.post(
        f"/v2/images/{image_id}/locations", json={"url": location}, headers={**PROJECT_B, **JSON}
    )
    assert response.status == 404
    assert await event_count(container) == before


async def test_users_without_the_service_role_may_not_name_data_in_the_stores(
    api: Client, container: Container, location: str
) -> None:
    image_id = await queued_image(api)
    await refused_without_change(
        container,
        lambda: api.post(
            f"/v2/images/{image_id}/locations",
            json={"url": location},
            headers={**PROJECT_A, **JSON},
        ),
        403,
        "http store must be enabled to use location API by normal user.",
    )
