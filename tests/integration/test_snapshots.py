"""Snapshots on the real databases: taken as images are used, read instead of the events
before them, ignored when made by other code, and checked against the whole fold on demand."""

from __future__ import annotations

import dataclasses
import uuid
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from catalog.image import Image
from catalog.snapshots import fingerprint, take
from infra.bootstrap import Container
from infra.db.snapshots import SqlSnapshots
from infra.db.tables import snapshot
from tests.integration.conftest import (
    JSON,
    PROJECT_A,
    ApiBuilder,
    ApiClient,
    created_image_id,
    embedded_settings,
    event_count,
)

PATCH = {**PROJECT_A, "Content-Type": "application/openstack-images-v2.1-json-patch"}


async def snapshotting_api(
    tmp_path: Path, database_url: str, api_for: ApiBuilder, *, check: bool = True
) -> tuple[ApiClient, Container]:
    settings = embedded_settings(tmp_path, database_url, snapshot_every=10, snapshot_check=check)
    return await api_for(settings)


async def renamed(api: ApiClient, image_id: str, name: str) -> Any:
    body = [{"op": "replace", "path": "/name", "value": name}]
    return await api.patch(f"/v2/images/{image_id}", json=body, headers=PATCH)


def snapshots_of(container: Container, image_id: str) -> Any:
    def read(conn: sa.Connection) -> list[tuple[int, str]]:
        rows = conn.execute(
            sa.select(snapshot.c.version, snapshot.c.fingerprint)
            .where(snapshot.c.stream_id == uuid.UUID(image_id))
            .order_by(snapshot.c.version)
        )
        return [(row.version, row.fingerprint) for row in rows]

    return container.database.read(read)


async def test_snapshots_are_taken_as_an_image_is_changed_and_loads_read_them(
    tmp_path: Path, database_url: str, api_for: ApiBuilder
) -> None:
    api, container = await snapshotting_api(tmp_path, database_url, api_for)
    image_id = await created_image_id(api)
    for n in range(35):
        assert (await renamed(api, image_id, f"name-{n}")).status == 200
    kept = await snapshots_of(container, image_id)
    assert [version for version, _ in kept] == [10, 20, 30]  # every 10 events folded
    assert {made_by for _, made_by in kept} == {fingerprint(Image)}
    shown = await (await api.get(f"/v2/images/{image_id}", headers=PROJECT_A)).json()
    assert shown["name"] == "name-34"


async def test_a_snapshot_made_by_other_code_is_ignored_then_replaced(
    tmp_path: Path, database_url: str, api_for: ApiBuilder
) -> None:
    api, container = await snapshotting_api(tmp_path, database_url, api_for, check=False)
    image_id = await created_image_id(api)
    for n in range(5):
        assert (await renamed(api, image_id, f"name-{n}")).status == 200
    image = await container.bus.context.images.load(uuid.UUID(image_id))
    stale = dataclasses.replace(
        take(image, image.updated_at or image.created_at),  # type: ignore[arg-type]
        fingerprint="0" * 64,
        state={"name": "from an older release"},
    )
    await SqlSnapshots(container.database).save(stale)
    for n in range(10):
        assert (await renamed(api, image_id, f"again-{n}")).status == 200
    assert await snapshots_of(container, image_id) == [(10, fingerprint(Image))]  # stale gone
    shown = await (await api.get(f"/v2/images/{image_id}", headers=PROJECT_A)).json()
    assert shown["name"] == "again-9"


async def test_the_check_refuses_a_snapshot_that_is_not_the_fold(
    tmp_path: Path, database_url: str, api_for: ApiBuilder
) -> None:
    api, container = await snapshotting_api(tmp_path, database_url, api_for)
    image_id = await created_image_id(api)
    image = await container.bus.context.images.load(uuid.UUID(image_id))
    image.name = "never recorded"
    wrong = take(image, image.created_at)  # type: ignore[arg-type]
    await SqlSnapshots(container.database).save(wrong)
    events = await event_count(container)
    response = await renamed(api, image_id, "renamed")
    assert response.status == 500
    assert await event_count(container) == events  # nothing decided on a wrong state
    assert "never recorded" not in str(
        await (await api.get(f"/v2/images/{image_id}", headers={**PROJECT_A, **JSON})).json()
    )


async def test_as_of_starts_from_the_latest_snapshot_that_fits_the_time(
    tmp_path: Path, database_url: str, api_for: ApiBuilder
) -> None:
    api, container = await snapshotting_api(tmp_path, database_url, api_for)
    image_id = await created_image_id(api)
    for n in range(30):
        assert (await renamed(api, image_id, f"name-{n}")).status == 200
    stream = await container.log.load_stream(uuid.UUID(image_id))
    assert len(await snapshots_of(container, image_id)) >= 2  # some states lie before a snapshot
    for version in (2, 11, 19, 25, 31):  # version n + 2 is the rename to name-n
        at = stream[version - 1].occurred_at.isoformat().replace("+00:00", "Z")
        then = await api.get(f"/v2/images/{image_id}", params={"as_of": at}, headers=PROJECT_A)
        assert then.status == 200, await then.text()
        assert (await then.json())["name"] == f"name-{version - 2}"
