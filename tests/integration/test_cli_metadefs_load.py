"""`catalog metadefs load PATH`: namespaces from Glance's definition files, created, then
changed to match their files (protected too), and nothing recorded when loaded again; a bad
file loads nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from infra.bootstrap import Container
from tests.integration.conftest import ADMIN, JSON, event_count, run_catalog
from tests.integration.conftest import ApiClient as Client

NS = "/v2/metadefs/namespaces"

CPU = {
    "namespace": "OS::Compute::Test",
    "display_name": "Test CPU",
    "description": "CPU settings",
    "visibility": "public",
    "protected": True,
    "resource_type_associations": [{"name": "OS::Glance::Image", "prefix": "hw_"}],
    "properties": {
        "cpu_policy": {"title": "CPU Policy", "type": "string", "enum": ["shared", "dedicated"]}
    },
    "objects": [{"name": "Pinning", "properties": {"threads": {"title": "T", "type": "integer"}}}],
}
PLAIN = {"namespace": "Plain", "visibility": "public", "protected": False}


def written(directory: Path, **documents: Any) -> Path:
    directory.mkdir(exist_ok=True)
    for name, document in documents.items():
        (directory / f"{name}.json").write_text(
            document if isinstance(document, str) else json.dumps(document)
        )
    return directory


async def load(tmp_path: Path, database_url: str, path: Path) -> tuple[int, str, str]:
    settings = {"CATALOG_DATA_DIR": str(tmp_path), "CATALOG_DATABASE_URL": database_url}
    return await run_catalog("metadefs", "load", str(path), settings=settings)


async def shown(api: Client, name: str) -> Any:
    response = await api.get(f"{NS}/{name}", headers={**ADMIN, **JSON})
    assert response.status == 200, await response.text()
    return await response.json()


async def test_definitions_are_loaded_then_loading_again_changes_nothing(
    api: Client, container: Container, tmp_path: Path, database_url: str
) -> None:
    files = written(tmp_path / "metadefs", cpu=CPU, plain=PLAIN)
    status, out, err = await load(tmp_path, database_url, files)
    assert status == 0, err
    assert out.splitlines() == ["namespace OS::Compute::Test: created", "namespace Plain: created"]
    cpu = await shown(api, "OS::Compute::Test")
    assert cpu["owner"] == "admin"
    assert cpu["protected"] is True
    assert list(cpu["properties"]) == ["cpu_policy"]
    assert cpu["objects"][0]["name"] == "Pinning"

    before = await event_count(container)
    status, out, err = await load(tmp_path, database_url, files)
    assert status == 0, err
    assert out.splitlines() == [
        "namespace OS::Compute::Test: unchanged",
        "namespace Plain: unchanged",
    ]
    assert await event_count(container) == before

    changed = {**CPU, "description": "New", "objects": [], "tags": [{"name": "fast"}]}
    written(files, cpu=changed)
    status, out, err = await load(tmp_path, database_url, files / "cpu.json")
    assert status == 0, err
    assert out.splitlines() == ["namespace OS::Compute::Test: updated (3 changes)"]
    cpu = await shown(api, "OS::Compute::Test")
    assert cpu["description"] == "New"
    assert "objects" not in cpu
    assert cpu["tags"] == [{"name": "fast"}]


async def test_a_bad_file_loads_nothing(
    api: Client, container: Container, tmp_path: Path, database_url: str
) -> None:
    bad = {**PLAIN, "namespace": "Bad", "properties": {"p": {"type": "string"}}}
    files = written(tmp_path / "metadefs", cpu=CPU, zbad=bad)
    status, _, err = await load(tmp_path, database_url, files)
    assert status == 1
    assert "zbad.json" in err
    assert await event_count(container) == 0
    written(files, zbad="{not json")
    status, _, err = await load(tmp_path, database_url, files)
    assert status == 1
    assert "cannot read" in err
    status, _, err = await load(tmp_path, database_url, tmp_path / "nowhere")
    assert status == 1
    assert "neither a file nor a directory" in err
    assert await event_count(container) == 0
