"""Events stored with an older schema are read back in the current shape, by every reader.

Rows written as a catalog before quotas (`image.upload_started` v1: no `reserved`) and before
format inspection (`image.staged` v1: no `found_format`, `virtual_size`) stay as they are in
the log (events are never rewritten); the log, the aggregate, the rebuild and the API see
them upcast.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from catalog.events import ImageStaged, ImageUploadStarted, ReplayEvent, decode
from catalog.image import ImageStatus
from catalog.ports import LOG_START
from infra.bootstrap import Container
from infra.db.replay_reader import ReplayReader
from infra.db.tables import event
from infra.projection_rebuild import rebuild_projections
from tests.integration.conftest import JSON, PROJECT_A, ApiClient, created_image_id, settled
from tests.waiting import until

DATA = b"bytes staged by an old catalog"
HEADERS = {**PROJECT_A, **JSON}


def old_rows(image_id: uuid.UUID, location: str) -> list[dict[str, Any]]:
    """Staging as a catalog before quotas and format inspection recorded it (versions 2, 3)."""
    started_v1 = {
        "store": "file",
        "location": location,
        "expected_size": len(DATA),
        "node_id": "node-of-old",
        "staging": True,
    }
    staged_v1 = {
        "size": len(DATA),
        "checksum": hashlib.md5(DATA, usedforsecurity=False).hexdigest(),
        "os_hash_algo": "sha512",
        "os_hash_value": hashlib.sha512(DATA).hexdigest(),
    }
    actor = {"user_id": "alice", "project_id": "proj-a", "roles": ["member", "reader"]}
    return [
        {
            "stream_id": image_id,
            "version": version,
            "event_id": uuid.uuid4(),
            "event_type": kind,
            "schema_version": 1,
            "data": data,
            "metadata": {"actor": actor, "request_id": None},
            "occurred_at": datetime.now(UTC),
        }
        for version, kind, data in (
            (2, "image.upload_started", started_v1),
            (3, "image.staged", staged_v1),
        )
    ]


async def test_old_schema_events_read_back_upcast_everywhere(
    api: ApiClient, container: Container
) -> None:
    image_id = uuid.UUID(await created_image_id(api, name="staged long ago"))
    location = f"file://{container.settings.core.data_dir}/stores/file/{image_id}"
    rows = old_rows(image_id, location)
    await container.database.write(lambda conn: conn.execute(sa.insert(event), rows))

    # The log keeps them as written...
    stream = await container.log.load_stream(image_id)
    assert [(e.event_type, e.schema_version) for e in stream[1:]] == [
        ("image.upload_started", 1),
        ("image.staged", 1),
    ]
    assert "reserved" not in stream[1].data
    # ...and every reader gets the current shape.
    started = decode(stream[1].event_type, stream[1].schema_version, stream[1].data)
    staged = decode(stream[2].event_type, stream[2].schema_version, stream[2].data)
    assert started == ImageUploadStarted(
        store="file",
        location=location,
        expected_size=len(DATA),
        node_id="node-of-old",
        staging=True,
        reserved=0,
    )
    assert isinstance(staged, ImageStaged)
    assert (staged.found_format, staged.virtual_size, staged.size) == (None, None, len(DATA))

    async def replayed_whole() -> list[ReplayEvent]:
        # A reader of the log stops short of transactions still running on the server.
        replayed = await ReplayReader(container.database).after(LOG_START, 10)
        return replayed if len(replayed) == len(stream) else []

    replayed = await until(replayed_whole, "the replay reader reaches the old events")
    assert [e.event for e in replayed][1:] == [started, staged]

    image = await container.bus.context.images.load(image_id)
    assert image.status is ImageStatus.UPLOADING
    assert image.staged == staged

    # The rebuilt view shows the staged image, claiming nothing against the quota.
    await rebuild_projections(container.log)
    shown = await (await api.get(f"/v2/images/{image_id}", headers=HEADERS)).json()
    assert (shown["status"], shown["size"]) == ("uploading", len(DATA))
    reserved = await container.database.read(
        lambda conn: conn.execute(sa.text("SELECT reserved_bytes FROM image")).scalar_one()
    )
    assert reserved == 0

    # The import decides from the upcast event: no format was found, none is checked.
    body = {"method": {"name": "glance-direct"}}
    response = await api.post(f"/v2/images/{image_id}/import", json=body, headers=HEADERS)
    assert response.status == 202, await response.text()
    await settled(api)
    shown = await (await api.get(f"/v2/images/{image_id}", headers=HEADERS)).json()
    assert shown["status"] == "active"
    assert shown["checksum"] == hashlib.md5(DATA, usedforsecurity=False).hexdigest()
    assert shown["virtual_size"] is None
