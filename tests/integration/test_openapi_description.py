"""The OpenAPI description at /openapi.json describes every route the router serves, and
nothing it does not (tests/e2e/test_openapi_conformance.py checks the answers against it)."""

from __future__ import annotations

from pathlib import Path

import schemathesis
from aiohttp import web
from schemathesis.core.result import Err

from infra.http.openapi.document import routes_of
from infra.http.openapi.operations import operations
from infra.settings import ImageCacheSettings
from tests.integration.conftest import ApiBuilder, embedded_settings

OPENAPI_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


def described(document: dict[str, object]) -> set[tuple[str, str]]:
    paths = document["paths"]
    assert isinstance(paths, dict)
    return {
        (method.upper(), path)
        for path, item in paths.items()
        for method in item
        if method in OPENAPI_METHODS
    }


async def test_every_route_is_described_and_nothing_else(
    tmp_path: Path, api_for: ApiBuilder
) -> None:
    # Every optional route served: the cache's, and /metrics on the API's address.
    settings = embedded_settings(tmp_path, image_cache=ImageCacheSettings(dir=tmp_path / "cache"))
    api, _ = await api_for(settings)
    response = await api.get("/openapi.json")
    assert response.status == 200
    document = await response.json()
    assert document["openapi"] == "3.1.0"
    # Every operation reads as OpenAPI (its parameters, bodies and references resolve).
    loaded = schemathesis.openapi.from_dict(document)
    unreadable = [
        str(result.err()) for result in loaded.get_all_operations() if isinstance(result, Err)
    ]
    assert unreadable == []

    app = api.app
    assert isinstance(app, web.Application)
    routed = set(routes_of(app.router))
    assert described(document) == routed
    # No description is left over for a route that no longer exists.
    assert set(operations()) <= routed
    for path in ("/v2/images/{image_id}/history", "/v2/images/{image_id}/actions/restore"):
        assert path in document["paths"]
    as_of = document["paths"]["/v2/images/{image_id}"]["get"]["parameters"]
    assert "as_of" in {parameter.get("name") for parameter in as_of}
