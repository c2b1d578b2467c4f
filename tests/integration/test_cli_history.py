"""`catalog history ID`: an image's timeline from the log, on SQLite and on PostgreSQL."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from infra import cli
from infra.cli_parser import parser
from tests.integration.conftest import (
    ADMIN,
    PROJECT_A,
    PROJECT_B,
    ApiClient,
    created_image_id,
    embedded_settings,
    run_catalog,
    settled,
    uploaded_image_id,
)

V21 = "application/openstack-images-v2.1-json-patch"


async def catalog(tmp_path: Path, database_url: str, *args: str) -> tuple[int, str, str]:
    """Run the `catalog` command on the test's database: (exit status, stdout, stderr)."""
    settings = {"CATALOG_DATA_DIR": str(tmp_path), "CATALOG_DATABASE_URL": database_url}
    return await run_catalog(*args, settings=settings)


async def history(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, database_url: str, *args: str
) -> str:
    """What `catalog history …` prints, run in this process (the entry point is tested below)."""
    parsed = parser().parse_args(["history", *args])
    settings = embedded_settings(tmp_path, database_url)
    await cli.history(settings, parsed.image_id, parsed.downloads)
    return capsys.readouterr().out


async def test_the_timeline_of_an_image_one_line_per_event(
    api: ApiClient, capsys: pytest.CaptureFixture[str], tmp_path: Path, database_url: str
) -> None:
    image_id = await created_image_id(api, name="a", os_distro="debian")
    renamed = await api.patch(
        f"/v2/images/{image_id}",
        json=[
            {"op": "replace", "path": "/name", "value": "b"},
            {"op": "replace", "path": "/os_distro", "value": "ubuntu"},
        ],
        headers={**PROJECT_A, "Content-Type": V21},
    )
    assert renamed.status == 200
    assert (await api.delete(f"/v2/images/{image_id}", headers=ADMIN)).status == 204

    out = await history(capsys, tmp_path, database_url, image_id)

    created, updated, deleted = out.splitlines()
    assert "  v1    image.created  " in created
    assert "by user alice (project proj-a, roles member,reader)" in created
    assert created.endswith(
        "created: name='a', disk_format='raw', container_format='bare', owner='proj-a',"
        " os_distro='debian'"
    )
    assert "  v2    image.updated  " in updated
    request_id = renamed.headers["x-openstack-request-id"]
    assert updated.endswith(f"  {request_id}  name: 'a' → 'b'; os_distro: 'debian' → 'ubuntu'")
    assert "  v3    image.deleted  " in deleted
    assert "by user root (project admin-proj, roles admin,member,reader)" in deleted


async def test_downloads_only_when_asked_for(
    api: ApiClient, capsys: pytest.CaptureFixture[str], tmp_path: Path, database_url: str
) -> None:
    image_id = await uploaded_image_id(api, b"1234", visibility="community")
    assert (await api.get(f"/v2/images/{image_id}/file", headers=PROJECT_B)).status == 200

    without = await history(capsys, tmp_path, database_url, image_id)
    out = await history(capsys, tmp_path, database_url, image_id, "--downloads")

    assert "image.data_sent" not in without
    downloaded = out.splitlines()[-1]
    assert "  --    image.data_sent  " in downloaded
    assert "by user bob (project proj-b" in downloaded
    assert downloaded.endswith("sent 4 of 4 bytes from store file")


async def test_the_command_prints_and_an_unknown_image_is_a_clear_failure(
    api: ApiClient, tmp_path: Path, database_url: str
) -> None:
    image_id = await created_image_id(api, name="a")
    status, out, _ = await catalog(tmp_path, database_url, "history", image_id)
    assert status == 0
    assert "  v1    image.created  " in out
    unknown = str(uuid.uuid4())
    status, out, err = await catalog(tmp_path, database_url, "history", unknown)
    assert (status, out) == (1, "")
    assert err.splitlines()[-1] == f"catalog: history: no image or task {unknown} in the log"
    status, _, err = await catalog(tmp_path, database_url, "history", "nope")
    assert status == 1
    assert err.splitlines()[-1] == "catalog: history: 'nope' is not an image id"


async def test_the_timeline_of_a_task(
    api: ApiClient, capsys: pytest.CaptureFixture[str], tmp_path: Path, database_url: str
) -> None:
    image_id = await created_image_id(api)
    staged = await api.put(
        f"/v2/images/{image_id}/stage",
        data=b"staged",
        headers={**PROJECT_A, "Content-Type": "application/octet-stream"},
    )
    assert staged.status == 204
    body = {"method": {"name": "glance-direct"}}
    imported = await api.post(f"/v2/images/{image_id}/import", json=body, headers=PROJECT_A)
    assert imported.status == 202
    await settled(api)
    tasks = await (await api.get(f"/v2/images/{image_id}/tasks", headers=PROJECT_A)).json()
    task_id = tasks["tasks"][0]["id"]

    created, started, succeeded = (
        await history(capsys, tmp_path, database_url, task_id)
    ).splitlines()
    assert "  v1    task.created  " in created
    assert f"created: api_image_import of image {image_id}, input " in created
    assert "by user alice (project proj-a, roles member,reader)" in created
    assert "  v2    task.started  " in started
    assert f"succeeded: result {{'image_id': '{image_id}'}}, 'Copied 0 MiB', expires " in succeeded
