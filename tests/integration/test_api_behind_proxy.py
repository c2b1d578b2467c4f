"""Behind a TLS-terminating proxy: absolute URLs say where the client came in, as a trusted
proxy forwards it, or as `CATALOG_API_PUBLIC_ENDPOINT` fixes it."""

from __future__ import annotations

from pathlib import Path

import pytest
from aiohttp import ClientResponse

from infra.settings import ApiSettings
from tests.integration.conftest import (
    JSON,
    PROJECT_A,
    ApiBuilder,
    ApiClient,
    embedded_settings,
    refused_without_change,
)

HTTPS_PROXY = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "cloud.example.com"}


async def api_with(tmp_path: Path, api_for: ApiBuilder, **api: str) -> ApiClient:
    client, _ = await api_for(embedded_settings(tmp_path, api=ApiSettings(**api)))  # type: ignore[arg-type]
    return client


async def absolute_urls(api: ApiClient, headers: dict[str, str]) -> list[str]:
    """Every absolute URL the API gives: versions (both documents), `Location` of a new
    image, the redirect of a bare version."""
    hrefs = []
    for path in ("/", "/versions", "/no-such-version"):
        versions = (await (await api.get(path, headers=headers)).json())["versions"]
        hrefs += [link["href"] for version in versions for link in version["links"]]
    created = await api.post("/v2/images", json={"name": "x"}, headers={**PROJECT_A, **headers})
    image_id = (await created.json())["id"]
    location = created.headers["Location"].removesuffix(image_id)
    redirect = await api.get("/v2", headers=headers, allow_redirects=False)
    return sorted({*hrefs, location, redirect.headers["Location"]})


async def test_a_trusted_proxy_says_where_the_client_came_in(
    tmp_path: Path, api_for: ApiBuilder
) -> None:
    api = await api_with(tmp_path, api_for, trusted_proxies="10.9.0.0/16, 127.0.0.1")
    assert await absolute_urls(api, HTTPS_PROXY) == [
        "https://cloud.example.com/v2/",
        "https://cloud.example.com/v2/images/",
    ]
    prefixed = {**HTTPS_PROXY, "X-Forwarded-Prefix": "/image/"}
    assert await absolute_urls(api, prefixed) == [
        "https://cloud.example.com/image/v2/",
        "https://cloud.example.com/image/v2/images/",
    ]


async def test_forwarded_wins_over_the_older_headers(tmp_path: Path, api_for: ApiBuilder) -> None:
    api = await api_with(tmp_path, api_for, trusted_proxies="127.0.0.0/8")
    forwarded = {
        # The first element is the client's side: later proxies add theirs after it.
        "Forwarded": 'for=203.0.113.9;proto=https;host="cloud.example.com:8443", for=10.0.0.2',
        "X-Forwarded-Proto": "http",
        "X-Forwarded-Host": "inner.example.com",
    }
    assert await absolute_urls(api, forwarded) == [
        "https://cloud.example.com:8443/v2/",
        "https://cloud.example.com:8443/v2/images/",
    ]


async def test_forwarding_headers_from_anyone_else_are_ignored(
    tmp_path: Path, api_for: ApiBuilder
) -> None:
    for trusted in ("", "10.0.0.0/8"):
        api = await api_with(tmp_path, api_for, trusted_proxies=trusted)
        own = str(api.make_url("")).rstrip("/")
        assert await absolute_urls(api, HTTPS_PROXY) == [f"{own}/v2/", f"{own}/v2/images/"]


async def test_the_public_endpoint_is_every_absolute_url(
    tmp_path: Path, api_for: ApiBuilder
) -> None:
    api = await api_with(
        tmp_path,
        api_for,
        public_endpoint="https://image.example.com/glance/",
        trusted_proxies="127.0.0.1",
    )
    expected = [
        "https://image.example.com/glance/v2/",
        "https://image.example.com/glance/v2/images/",
    ]
    assert await absolute_urls(api, {}) == expected
    assert await absolute_urls(api, HTTPS_PROXY) == expected
    # What the proxy says is not used for URLs then, so it is not refused either.
    assert await absolute_urls(api, {"X-Forwarded-Host": "not a host"}) == expected


async def test_links_in_bodies_stay_relative_to_the_api_root(
    tmp_path: Path, api_for: ApiBuilder
) -> None:
    # Clients resolve them against the endpoint they were given, prefix included (Glance's).
    api = await api_with(tmp_path, api_for, public_endpoint="https://image.example.com/glance")
    created = await (await api.post("/v2/images", json={"name": "x"}, headers=PROJECT_A)).json()
    assert created["self"] == f"/v2/images/{created['id']}"
    assert created["file"] == f"/v2/images/{created['id']}/file"
    assert created["schema"] == "/v2/schemas/image"
    listed = await (await api.get("/v2/images?limit=1", headers=PROJECT_A)).json()
    assert listed["first"] == "/v2/images?limit=1"
    assert listed["next"] == f"/v2/images?limit=1&marker={created['id']}"


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        (
            {"X-Forwarded-Host": "cloud.example.com/evil"},
            "The X-Forwarded-Host header is not a host name.",
        ),
        (
            {"X-Forwarded-Proto": "gopher"},
            "The X-Forwarded-Proto header is neither http nor https.",
        ),
        ({"X-Forwarded-Prefix": "image"}, "The X-Forwarded-Prefix header is not a path."),
        (
            {"Forwarded": "proto=https;host=a b"},
            "The host of the Forwarded header is not a host name.",
        ),
    ],
)
async def test_forwarded_values_no_url_can_be_built_with_are_refused(
    tmp_path: Path, api_for: ApiBuilder, headers: dict[str, str], message: str
) -> None:
    settings = embedded_settings(tmp_path, api=ApiSettings(trusted_proxies="127.0.0.1"))
    api, container = await api_for(settings)

    async def create() -> ClientResponse:
        body = {"name": "x"}
        return await api.post("/v2/images", json=body, headers={**PROJECT_A, **JSON, **headers})

    await refused_without_change(container, create, 400, message)
