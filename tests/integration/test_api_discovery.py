"""Version documents and schemas, as Glance serves them."""

from __future__ import annotations

import json
from pathlib import Path

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


async def test_import_and_usage_info(api: Client) -> None:
    imports = await (await api.get("/v2/info/import", headers=PROJECT_A)).json()
    assert imports["import-methods"]["type"] == "array"
    assert imports["import-methods"]["value"] == []
    usage = await api.get("/v2/info/usage", headers=PROJECT_A)
    assert usage.status == 200
    assert await usage.json() == {"usage": {}}
