"""Version documents and schemas, as Glance serves them."""

from __future__ import annotations

import json
from pathlib import Path

from infra.http.schemas import SERVED_SCHEMAS
from tests.integration.conftest import PROJECT_A
from tests.integration.conftest import ApiClient as Client

REFERENCE = Path(__file__).parents[2] / "infra" / "http" / "schemas"


async def test_the_root_answers_300_with_the_versions(api: Client) -> None:
    response = await api.get("/")
    assert response.status == 300
    versions = (await response.json())["versions"]
    current = [v["id"] for v in versions if v["status"] == "CURRENT"]
    assert current == ["v2.17"]
    assert {"v2.0", "v2.1", "v2.15"} <= {v["id"] for v in versions}
    assert versions[0]["links"][0]["href"].endswith("/v2/")


async def test_versions_answers_200(api: Client) -> None:
    response = await api.get("/versions")
    assert response.status == 200
    assert len((await response.json())["versions"]) == 11


async def test_the_image_schemas_are_glances(api: Client) -> None:
    for name in ("image", "images"):
        response = await api.get(f"/v2/schemas/{name}", headers=PROJECT_A)
        assert response.status == 200
        assert await response.json() == json.loads((REFERENCE / f"{name}.json").read_text())


async def test_every_schema_kept_is_served(api: Client) -> None:
    kept = sorted(str(p.relative_to(REFERENCE).with_suffix("")) for p in REFERENCE.rglob("*.json"))
    assert sorted(SERVED_SCHEMAS) == kept
    for name in kept:
        response = await api.get(f"/v2/schemas/{name}", headers=PROJECT_A)
        assert response.status == 200, name
        assert await response.json() == json.loads((REFERENCE / f"{name}.json").read_text())


async def test_import_and_usage_info(api: Client) -> None:
    imports = await (await api.get("/v2/info/import", headers=PROJECT_A)).json()
    assert imports["import-methods"]["type"] == "array"
    assert imports["import-methods"]["value"] == ["glance-direct", "web-download", "copy-image"]
    usage = await api.get("/v2/info/usage", headers=PROJECT_A)
    assert usage.status == 200
    assert await usage.json() == {"usage": {}}


async def test_every_accepted_version_prefix_routes_to_the_api(api: Client) -> None:
    for prefix in ("/v2", "/v2.1", "/v2.9", "/v2.17"):
        response = await api.get(f"{prefix}/images", headers=PROJECT_A)
        assert response.status == 200
        assert (await response.json())["first"] == "/v2/images"
    wrong_method = await api.put(
        "/v2.1/images", headers={**PROJECT_A, "Accept": "application/json"}
    )
    assert wrong_method.status == 405
    assert set(wrong_method.headers["Allow"].split(", ")) == {"GET", "POST"}


async def test_a_bare_version_redirects_to_its_root(api: Client) -> None:
    for prefix in ("/v2", "/v2.3"):
        response = await api.get(prefix, allow_redirects=False)
        assert response.status == 302
        assert response.headers["Location"].endswith("/v2/")
    assert (await api.get("/v2/", headers={"Accept": "application/json"})).status == 404


async def test_paths_outside_the_served_versions_answer_300(api: Client) -> None:
    for path in ("/v2.8/images", "/v1/images", "/v3/images", "/foo"):
        response = await api.get(path)
        assert response.status == 300
        assert "versions" in await response.json()
