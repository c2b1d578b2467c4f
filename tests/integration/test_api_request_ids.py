"""Every response carries its request id; a caller's well-formed id is kept as the global one."""

from __future__ import annotations

import io
import re
import uuid

import pytest
from aiohttp import ClientResponse

from infra.bootstrap import Container
from infra.http.app import JSON_BODY_LIMIT
from tests.integration.conftest import (
    JSON,
    PROJECT_A,
    ApiClient,
    created_image_id,
    refused_without_change,
    uploaded_image_id,
)

REQUEST_ID = re.compile(r"req-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def request_id_of(response: ClientResponse) -> str:
    request_id = response.headers.get("x-openstack-request-id", "")
    assert REQUEST_ID.fullmatch(request_id), dict(response.headers)
    return request_id


async def test_a_success_carries_a_request_id_of_its_own(api: ApiClient) -> None:
    first = await api.get("/v2/images", headers=PROJECT_A)
    second = await api.get("/v2/images", headers=PROJECT_A)
    assert first.status == second.status == 200
    assert request_id_of(first) != request_id_of(second)


async def test_a_streamed_download_carries_its_request_id(api: ApiClient) -> None:
    image_id = await uploaded_image_id(api, b"some bytes")
    response = await api.get(f"/v2/images/{image_id}/file", headers=PROJECT_A)
    assert response.status == 200
    assert await response.read() == b"some bytes"
    request_id_of(response)


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/v2/no-such-route", 404),
        ("GET", f"/v2/images/{uuid.uuid4()}", 404),
        ("PUT", "/v2/images", 405),
        ("GET", "/not-a-version", 300),
    ],
)
async def test_an_error_answered_before_any_view_carries_a_request_id(
    api: ApiClient, method: str, path: str, status: int
) -> None:
    response = await api.request(method, path, headers={**PROJECT_A, **JSON})
    assert response.status == status
    request_id_of(response)


async def test_a_refused_request_carries_a_request_id(api: ApiClient, container: Container) -> None:
    too_large = b"{" + b" " * JSON_BODY_LIMIT + b"}"
    response = await refused_without_change(
        container,
        lambda: api.post("/v2/images", data=io.BytesIO(too_large), headers={**PROJECT_A, **JSON}),
        413,
        "The request body is too large.",
    )
    request_id_of(response)
    malformed = await refused_without_change(
        container,
        lambda: api.post("/v2/images", data=b"{", headers={**PROJECT_A, **JSON}),
        400,
        "Malformed JSON in request body.",
    )
    request_id_of(malformed)


async def test_an_inbound_request_id_never_replaces_the_catalogs_own(api: ApiClient) -> None:
    inbound = f"req-{uuid.uuid4()}"
    response = await api.get("/v2/images", headers={**PROJECT_A, "X-OpenStack-Request-ID": inbound})
    assert request_id_of(response) != inbound


async def test_history_shows_a_writes_request_id_and_a_callers_global_one(
    api: ApiClient,
) -> None:
    image_id = await created_image_id(api, name="before")
    inbound = f"req-{uuid.uuid4()}"
    patched = await api.patch(
        f"/v2/images/{image_id}",
        json=[{"op": "replace", "path": "/name", "value": "after"}],
        headers={
            **PROJECT_A,
            "Content-Type": "application/openstack-images-v2.1-json-patch",
            "X-OpenStack-Request-ID": inbound,
        },
    )
    assert patched.status == 200
    ignored = await api.patch(
        f"/v2/images/{image_id}",
        json=[{"op": "replace", "path": "/name", "value": "again"}],
        headers={
            **PROJECT_A,
            "Content-Type": "application/openstack-images-v2.1-json-patch",
            "X-OpenStack-Request-ID": "not-a-request-id",
        },
    )
    assert ignored.status == 200
    history = await (await api.get(f"/v2/images/{image_id}/history", headers=PROJECT_A)).json()
    created, renamed, renamed_again = history["events"]
    assert (renamed["request_id"], renamed["global_request_id"]) == (
        request_id_of(patched),
        inbound,
    )
    assert (renamed_again["request_id"], renamed_again["global_request_id"]) == (
        request_id_of(ignored),
        None,
    )
    assert created["global_request_id"] is None
