"""Glance's notifications (images', tasks' and metadata definitions'), derived from the log by
the notifications consumer, into the outbox."""

from __future__ import annotations

import contextlib
import io
import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from aiohttp import ClientResponse

from catalog.events import ImageCreated, RecordedEvent, decode
from catalog.notifications import ImageNotifications
from infra.bootstrap import Container
from infra.consumers import notifications
from infra.consumers.status import consumer_status
from infra.db.tables import checkpoint, consumer_applied, consumer_fold, notification
from infra.projection_rebuild import rebuild_projections
from infra.settings import NotificationSettings
from tests.integration.conftest import (
    ADMIN,
    PROJECT_A,
    PROJECT_B,
    ApiBuilder,
    ApiClient,
    created_image_id,
    embedded_settings,
    event_count,
    failed_upload_image_id,
    settled,
    uploaded_image_id,
)
from tests.integration.consuming import consume_log
from tests.integration.test_api_import import stage, start_import
from tests.statements import statements_sent
from tests.waiting import until

IMAGE_FIELDS = {
    "id", "name", "status", "created_at", "updated_at", "min_disk", "min_ram", "protected",
    "checksum", "owner", "disk_format", "container_format", "size", "virtual_size", "is_public",
    "visibility", "properties", "tags", "deleted", "deleted_at",
}  # fmt: skip
TASK_FIELDS = {
    "id", "type", "status", "result", "owner", "message", "expires_at", "created_at",
    "updated_at", "deleted", "deleted_at",
}  # fmt: skip
NAMESPACE_FIELDS = {
    "namespace", "namespace_old", "display_name", "protected", "visibility", "owner",
    "description", "created_at", "updated_at", "deleted", "deleted_at",
}  # fmt: skip
ENVELOPE = {"message_id", "publisher_id", "event_type", "priority", "payload", "timestamp"}


async def outbox(container: Container) -> list[dict[str, Any]]:
    def read(conn: sa.Connection) -> list[dict[str, Any]]:
        rows = conn.execute(sa.select(notification.c.message).order_by(notification.c.position))
        return [json.loads(row.message) for row in rows]

    return await container.database.read(read)


def forget_notifications(conn: sa.Connection) -> None:
    """The consumer back at the log's start, as a new one: nothing applied, nothing written."""
    for table in (notification, consumer_applied):
        conn.execute(sa.delete(table))
    conn.execute(sa.delete(checkpoint).where(checkpoint.c.name == "consumer.notifications"))


async def downloaded(api: ApiClient, container: Container, image_id: str) -> None:
    """Download the image and wait for the transfer's record (written after the body)."""
    before = await event_count(container)
    response = await api.get(f"/v2/images/{image_id}/file", headers=PROJECT_A)
    assert response.status == 200
    await response.read()

    async def recorded() -> bool:
        return await event_count(container) == before + 1

    await until(recorded)


async def import_and_tagged_namespace(api: ApiClient) -> None:
    """An image imported (through a task), and a namespace created with a tag."""
    image_id = await created_image_id(api)
    assert (await stage(api, image_id)).status == 204
    assert (await start_import(api, image_id)).status == 202
    await settled(api)
    namespace = {"namespace": "n", "tags": [{"name": "t"}]}
    assert (await api.post("/v2/metadefs/namespaces", json=namespace, headers=ADMIN)).status == 201


async def image_life(api: ApiClient, container: Container) -> ClientResponse:
    """An image created, uploaded, renamed, shared (accepted, then unshared), downloaded and
    deleted; the create's answer."""
    create = await api.post(
        "/v2/images",
        json={"name": "a", "disk_format": "raw", "container_format": "bare"},
        headers=PROJECT_A,
    )
    image_id = (await create.json())["id"]
    upload = await api.put(
        f"/v2/images/{image_id}/file",
        data=io.BytesIO(b"0123456789"),
        headers={**PROJECT_A, "Content-Type": "application/octet-stream"},
    )
    assert upload.status == 204
    patch = [{"op": "replace", "path": "/name", "value": "b"}]
    headers = {**PROJECT_A, "Content-Type": "application/openstack-images-v2.1-json-patch"}
    assert (await api.patch(f"/v2/images/{image_id}", json=patch, headers=headers)).status == 200
    members = f"/v2/images/{image_id}/members"
    assert (await api.post(members, json={"member": "proj-b"}, headers=PROJECT_A)).status == 200
    accept = await api.put(f"{members}/proj-b", json={"status": "accepted"}, headers=PROJECT_B)
    assert accept.status == 200
    assert (await api.delete(f"{members}/proj-b", headers=PROJECT_A)).status == 204
    await downloaded(api, container, image_id)
    assert (await api.delete(f"/v2/images/{image_id}", headers=PROJECT_A)).status == 204
    return create


async def test_an_image_life_gives_glances_notifications_in_order(
    api: ApiClient, container: Container
) -> None:
    create = await image_life(api, container)
    image_id = (await create.json())["id"]

    await consume_log(container, "notifications")
    messages = await outbox(container)

    assert [m["event_type"] for m in messages] == [
        "image.create",
        "image.update",  # saving
        "image.prepare",
        "image.upload",
        "image.activate",
        "image.update",  # active
        "image.update",  # renamed
        "image.member.create",
        "image.member.update",
        "image.member.delete",
        "image.send",
        "image.delete",
    ]
    for message in messages:
        assert set(message) >= ENVELOPE
        assert message["publisher_id"] == "image.localhost"
        assert message["priority"] == "INFO"
    create_message, *_, deleted = messages
    assert set(create_message["payload"]) == IMAGE_FIELDS
    assert create_message["payload"]["status"] == "queued"
    assert create_message["_context"]["request_id"] == create.headers["x-openstack-request-id"]
    assert create_message["_context"]["user_id"] == "alice"
    assert create_message["_context"]["project_id"] == "proj-a"
    uploaded = next(m for m in messages if m["event_type"] == "image.upload")["payload"]
    assert uploaded["size"] == 10
    assert uploaded["status"] == "active"
    assert uploaded["os_glance_importing_to_stores"] == []
    prepare = next(m for m in messages if m["event_type"] == "image.prepare")["payload"]
    assert prepare["backend"] == "file"
    assert messages[6]["payload"]["name"] == "b"
    member = messages[8]["payload"]
    assert member == {
        "image_id": image_id,
        "member_id": "proj-b",
        "status": "accepted",
        "created_at": messages[7]["payload"]["created_at"],
        "updated_at": member["updated_at"],
        "deleted": False,
        "deleted_at": None,
    }
    assert messages[9]["payload"]["deleted"] is True
    sent = messages[10]["payload"]
    assert sent == {
        "bytes_sent": 10,
        "image_id": image_id,
        "owner_id": "proj-a",
        "receiver_tenant_id": "proj-a",
        "receiver_user_id": "alice",
    }
    assert deleted["payload"]["deleted"] is True
    assert deleted["payload"]["deleted_at"]
    assert len({m["message_id"] for m in messages}) == len(messages)


async def test_a_failed_upload_is_an_error_notification(
    api: ApiClient, container: Container
) -> None:
    image_id = await failed_upload_image_id(api)
    await consume_log(container, "notifications")
    messages = await outbox(container)

    types = [(m["event_type"], m["priority"]) for m in messages]
    assert types[-2:] == [("image.upload", "ERROR"), ("image.update", "INFO")]
    assert isinstance(messages[-2]["payload"], str)
    assert image_id in messages[-2]["payload"]
    assert messages[-1]["payload"]["status"] == "queued"


async def test_disabled_types_match_whole_parts_of_the_name(
    tmp_path: Path, sqlite_url: str, api_for: ApiBuilder
) -> None:
    settings = embedded_settings(tmp_path, sqlite_url)
    settings.notifications = NotificationSettings(disabled="image.member, image.send, image.up")
    api, container = await api_for(settings)
    image_id = await uploaded_image_id(api, b"x")
    members = f"/v2/images/{image_id}/members"
    assert (await api.post(members, json={"member": "proj-b"}, headers=PROJECT_A)).status == 200
    await downloaded(api, container, image_id)

    await consume_log(container, "notifications")
    types = {m["event_type"] for m in await outbox(container)}

    # `image.member` is a group (Glance would ignore it); `image.up` is no type's part.
    assert types == {"image.create", "image.update", "image.prepare", "image.upload",
                     "image.activate"}  # fmt: skip


async def test_events_delivered_again_are_not_notified_twice(
    api: ApiClient, container: Container
) -> None:
    await import_and_tagged_namespace(api)
    assert await consume_log(container, "notifications") > 0
    first = await outbox(container)
    assert {"task.run", "metadef_tag.create"} <= {m["event_type"] for m in first}

    # Rebuilding the views replays the log into views only: nothing to notify again.
    await rebuild_projections(container.log, batch_size=50)
    assert await consume_log(container, "notifications") == 0

    # The consumer loses its place (as after a restore of an old checkpoint): everything comes
    # again, and what it applied is recognised by (stream, version).
    forget = sa.delete(checkpoint).where(checkpoint.c.name == "consumer.notifications")
    await container.database.write(lambda conn: conn.execute(forget))
    assert await consume_log(container, "notifications") == 0
    assert await outbox(container) == first


@pytest.mark.parametrize("stored", [True, False], ids=["folds-stored", "histories"])
async def test_a_consumer_with_nothing_cached_reads_each_batchs_streams_at_once(
    api: ApiClient, container: Container, monkeypatch: pytest.MonkeyPatch, stored: bool
) -> None:
    """A consumer catching up with a long log finds hardly any stream's fold in its cache: the
    folds it kept in the database (or, for a kind without a stored form, the histories) a
    batch needs are read at once, not event by event, and it notifies the same."""
    images = [await created_image_id(api, tags=["a"]) for _ in range(20)]
    for tag in ("b", "c"):  # each image's events spread over the consumer's batches of 50
        for image_id in images:
            response = await api.put(f"/v2/images/{image_id}/tags/{tag}", headers=PROJECT_A)
            assert response.status == 204
    assert await consume_log(container, "notifications") > 0
    cached = await outbox(container)

    await container.database.write(forget_notifications)
    monkeypatch.setattr(notifications, "CACHED_STREAMS", 0)
    monkeypatch.setattr(ImageNotifications, "stored_form", stored)
    with statements_sent() as sent:
        assert await consume_log(container, "notifications") > 0
    histories = [s for s in sent if "FROM event" in s and "version <" in s]
    folds = [s for s in sent if "FROM consumer_fold" in s]
    # the tail's reads: a delivery each, or nothing
    batches = [s for s in sent if "FROM event" in s and "ORDER BY event.commit_order" in s]

    assert await outbox(container) == cached
    read = folds if stored else histories
    if container.database.postgres:  # (SQLite reads each stream on its own: in-process)
        assert 0 < len(read) <= len(batches)
    if stored:
        assert histories == []
        assert await kept_folds(container) == {uuid.UUID(i): 3 for i in images}
    else:
        assert folds == []


async def kept_folds(container: Container) -> dict[uuid.UUID, int]:
    """The notifications consumer's folds kept in the database: stream -> version."""

    def read(conn: sa.Connection) -> dict[uuid.UUID, int]:
        rows = conn.execute(sa.select(consumer_fold.c.stream_id, consumer_fold.c.version))
        return {row.stream_id: row.version for row in rows}

    return await container.database.read(read)


@pytest.mark.parametrize("fingerprint", ["0" * 64, None], ids=["other-code", "unreadable"])
async def test_folds_made_by_other_code_are_not_read_and_a_deleted_images_fold_goes(
    api: ApiClient, container: Container, monkeypatch: pytest.MonkeyPatch, fingerprint: str | None
) -> None:
    """A fold kept by code that folded differently (another fingerprint), or that cannot be
    read, is not used: the stream's history is folded instead, and its fold written over. An
    image's fold goes with the image."""
    kept, deleted = await created_image_id(api), await created_image_id(api)
    monkeypatch.setattr(notifications, "CACHED_STREAMS", 0)
    assert await consume_log(container, "notifications") > 0
    assert await kept_folds(container) == {uuid.UUID(kept): 1, uuid.UUID(deleted): 1}
    if fingerprint is None:
        spoilt = sa.update(consumer_fold).values(state="not a fold")
    else:  # a fold that reads well, but tells another image (tagged "x")
        other = ImageNotifications.start(uuid.UUID(kept))
        other.advance(ImageCreated(name="other", tags=("x",)), datetime.now(UTC))
        spoilt = sa.update(consumer_fold).values(fingerprint=fingerprint, state=other.stored())
    await container.database.write(lambda conn: conn.execute(spoilt))

    assert (await api.put(f"/v2/images/{kept}/tags/b", headers=PROJECT_A)).status == 204
    assert (await api.delete(f"/v2/images/{deleted}", headers=PROJECT_A)).status == 204
    assert await consume_log(container, "notifications") > 0

    assert await kept_folds(container) == {uuid.UUID(kept): 2}
    assert [
        m["payload"]["tags"] for m in await outbox(container) if m["event_type"] == "image.update"
    ] == [["b"]]


async def test_the_folds_table_is_left_alone_while_the_folds_fit_in_memory(
    api: ApiClient, container: Container
) -> None:
    """Deleting an image whose fold was never pushed out costs no statement on the folds."""
    image_id = await created_image_id(api)
    assert (await api.delete(f"/v2/images/{image_id}", headers=PROJECT_A)).status == 204
    with statements_sent() as sent:
        assert await consume_log(container, "notifications") > 0

    assert "image.delete" in {m["event_type"] for m in await outbox(container)}
    assert [s for s in sent if "consumer_fold" in s] == []


async def test_a_fold_advanced_at_an_append_that_failed_is_never_kept(
    api: ApiClient, container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An append's notifications are written in its transaction; should it fail, the fold it
    advanced must not stand for the image anywhere, least of all in the database, where a
    later process would start from it (here: after a restart)."""
    monkeypatch.setattr(notifications, "CACHED_STREAMS", 1)
    consumer = notifications.NotificationsConsumer(NotificationSettings())
    image_id, other_id = await created_image_id(api), await created_image_id(api)
    created = (await container.log.load_stream(uuid.UUID(image_id)))[0]
    other = (await container.log.load_stream(uuid.UUID(other_id)))[0]

    async def apply(recorded: RecordedEvent, *, inline: bool = False) -> None:
        event = decode(recorded.event_type, recorded.schema_version, recorded.data)
        apply = consumer.apply_inline if inline else consumer.apply

        def unit(conn: sa.Connection) -> None:
            apply(conn, [(recorded, event)])
            if inline:
                raise RuntimeError("the append failed")

        with contextlib.suppress(RuntimeError):
            await container.database.write(unit)

    await apply(created)
    never = {"attributes": {"name": "never"}, "properties": {}, "removed_properties": []}
    failed = created.model_copy(
        update={
            "version": 2,
            "event_id": uuid.uuid4(),
            "event_type": "image.updated",
            "data": never,
        }
    )
    await apply(failed, inline=True)
    await apply(other)  # pushes out what the cache holds of the image, if anything
    response = await api.patch(
        f"/v2/images/{image_id}",
        data=json.dumps([{"op": "replace", "path": "/name", "value": "real"}]),
        headers={**PROJECT_A, "Content-Type": "application/openstack-images-v2.1-json-patch"},
    )
    assert response.status == 200
    for recorded in (await container.log.load_stream(uuid.UUID(image_id)))[1:]:
        await apply(recorded)
    consumer = notifications.NotificationsConsumer(NotificationSettings())  # a restart
    assert (await api.put(f"/v2/images/{image_id}/tags/t", headers=PROJECT_A)).status == 204
    for recorded in (await container.log.load_stream(uuid.UUID(image_id)))[2:]:
        await apply(recorded)

    names = [
        m["payload"]["name"] for m in await outbox(container) if m["event_type"] == "image.update"
    ]
    assert names == ["real", "real"]


@pytest.mark.parametrize(
    ("kept", "live", "stored"),
    [
        pytest.param(1, 1, False, id="history-folded-again"),
        pytest.param(1, 1, True, id="folds-stored"),
        pytest.param(100, 1, True, id="folds-packed"),
    ],
)
async def test_a_catch_up_notifies_what_was_notified_live(
    api: ApiClient,
    container: Container,
    monkeypatch: pytest.MonkeyPatch,
    kept: int,
    live: int,
    stored: bool,
) -> None:
    """A consumer started at the log's start, which keeps one stream's fold at most (and so
    reads nearly every stream's fold back from the database, or, without a stored form, folds
    its history again) or one as it is and the others packed, writes the messages the
    consumer following the log as it grew wrote: the same rows, in the same order, each
    message the same."""

    async def follow() -> None:
        await consume_log(container, "notifications")

    first = await uploaded_image_id(api, b"x", tags=["a"])
    await follow()
    second = await created_image_id(api, visibility="shared")
    await follow()
    members = f"/v2/images/{first}/members"
    assert (await api.post(members, json={"member": "proj-b"}, headers=PROJECT_A)).status == 200
    await follow()
    assert (await api.put(f"/v2/images/{second}/tags/b", headers=PROJECT_A)).status == 204
    await follow()
    accept = await api.put(f"{members}/proj-b", json={"status": "accepted"}, headers=PROJECT_B)
    assert accept.status == 200
    await follow()
    await import_and_tagged_namespace(api)
    await follow()
    patch = [{"op": "add", "path": "/p", "value": "v"}]
    headers = {**PROJECT_A, "Content-Type": "application/openstack-images-v2.1-json-patch"}
    assert (await api.patch(f"/v2/images/{first}", json=patch, headers=headers)).status == 200
    await follow()
    await downloaded(api, container, first)
    assert (await api.delete(f"{members}/proj-b", headers=PROJECT_A)).status == 204
    assert (await api.delete(f"/v2/images/{second}", headers=PROJECT_A)).status == 204
    await follow()
    assert (await api.post(members, json={"member": "proj-b"}, headers=PROJECT_A)).status == 200
    await follow()
    notified_live = await outbox_rows(container)

    await container.database.write(forget_notifications)
    monkeypatch.setattr(notifications, "CACHED_STREAMS", kept)
    monkeypatch.setattr(notifications, "LIVE_FOLDS", live)
    monkeypatch.setattr(ImageNotifications, "stored_form", stored)
    assert await consume_log(container, "notifications") > 0

    assert await outbox_rows(container) == notified_live
    assert len(notified_live) > 20


async def outbox_rows(container: Container) -> list[tuple[Any, ...]]:
    """Every outbox row as written, in order; each message as its text (its fields in their
    order)."""

    def read(conn: sa.Connection) -> list[tuple[Any, ...]]:
        columns = [c for c in notification.c if c.name not in {"position", "commit_order"}]
        rows = conn.execute(sa.select(*columns).order_by(notification.c.position))
        return [tuple(row) for row in rows]

    return await container.database.read(read)


async def test_a_consumers_lag_is_what_waits_for_it(api: ApiClient, container: Container) -> None:
    await uploaded_image_id(api, b"x")
    waiting = await event_count(container)

    assert f"consumer notifications: from the log; {waiting} events waiting" in (
        await consumer_status(container)
    )
    await consume_log(container, "notifications")
    assert "consumer notifications: from the log; 0 events waiting" in (
        await consumer_status(container)
    )


async def test_an_import_task_is_notified_as_glance_does(
    api: ApiClient, container: Container
) -> None:
    image_id = await created_image_id(api)
    assert (await stage(api, image_id)).status == 204
    started = await start_import(api, image_id)
    assert started.status == 202
    await settled(api)

    await consume_log(container, "notifications")
    messages = await outbox(container)

    tasks = [m for m in messages if m["event_type"].startswith("task.")]
    assert [m["event_type"] for m in tasks] == [
        "task.create",
        "task.processing",
        "task.success",
        "task.run",  # when the call that ran the task returns: after its end
    ]
    payloads = [m["payload"] for m in tasks]
    assert all(set(payload) == TASK_FIELDS for payload in payloads)
    assert len({payload["id"] for payload in payloads}) == 1
    assert [p["status"] for p in payloads] == ["pending", "processing", "success", "pending"]
    assert (payloads[0]["type"], payloads[0]["owner"]) == ("api_image_import", "proj-a")
    assert payloads[0]["expires_at"] is None
    assert payloads[2]["expires_at"]
    assert payloads[3] == payloads[0]  # the task as its caller created it
    request_id = started.headers["x-openstack-request-id"]
    assert {m["_context"]["request_id"] for m in tasks} == {request_id}
    # The image's import is told between the task's start and its end.
    types = [m["event_type"] for m in messages]
    assert types.index("task.processing") < types.index("image.activate")
    assert types.index("image.activate") < types.index("task.success")


async def test_a_namespaces_life_is_notified_as_glance_does(
    api: ApiClient, container: Container
) -> None:
    namespaces = "/v2/metadefs/namespaces"
    created = {
        "namespace": "OS::Test",
        "display_name": "Test",
        "resource_type_associations": [{"name": "OS::Glance::Image", "prefix": "t_"}],
        "objects": [{"name": "CPU", "properties": {"cores": {"type": "integer", "title": "C"}}}],
        "tags": [{"name": "t1"}],
        "properties": {"p1": {"type": "string", "title": "P"}},
    }
    assert (await api.post(namespaces, json=created, headers=ADMIN)).status == 201
    renamed = {"namespace": "OS::Renamed", "display_name": "Test"}
    assert (await api.put(f"{namespaces}/OS::Test", json=renamed, headers=ADMIN)).status == 200
    one = f"{namespaces}/OS::Renamed"
    tag = await api.put(f"{one}/tags/t1", json={"name": "t2"}, headers=ADMIN)
    assert tag.status == 200
    assert (await api.delete(f"{one}/properties/p1", headers=ADMIN)).status == 204
    assert (await api.delete(f"{one}/objects", headers=ADMIN)).status == 204
    assert (await api.delete(one, headers=ADMIN)).status == 204

    await consume_log(container, "notifications")
    messages = await outbox(container)

    assert [m["event_type"] for m in messages] == [
        "metadef_namespace.create",
        "metadef_resource_type.create",
        "metadef_object.create",
        "metadef_tag.create",
        "metadef_property.create",
        "metadef_namespace.update",
        "metadef_tag.update",
        "metadef_property.delete",
        "metadef_namespace.delete_objects",
        "metadef_namespace.delete",
    ]
    payloads = [m["payload"] for m in messages]
    assert set(payloads[0]) == NAMESPACE_FIELDS
    assert (payloads[0]["namespace"], payloads[0]["owner"]) == ("OS::Test", "admin-proj")
    assert payloads[1]["prefix"] == "t_"
    assert payloads[2]["properties"][0]["name"] == "cores"
    assert (payloads[5]["namespace"], payloads[5]["namespace_old"]) == ("OS::Renamed", "OS::Test")
    assert (payloads[6]["name"], payloads[6]["name_old"]) == ("t2", "t1")
    assert payloads[6]["namespace"] == "OS::Renamed"
    assert (payloads[7]["name"], payloads[7]["deleted"]) == ("p1", True)
    assert (payloads[9]["deleted"], payloads[9]["namespace"]) == (True, "OS::Renamed")
    assert all(m["_context"]["user_id"] == ADMIN["X-User-Id"] for m in messages)


async def test_tasks_and_metadata_definitions_are_switched_off_as_glances_groups(
    tmp_path: Path, sqlite_url: str, api_for: ApiBuilder
) -> None:
    settings = embedded_settings(tmp_path, sqlite_url)
    settings.notifications = NotificationSettings(disabled="task, metadef_tag")
    api, container = await api_for(settings)
    await import_and_tagged_namespace(api)

    await consume_log(container, "notifications")
    types = {m["event_type"] for m in await outbox(container)}

    assert "metadef_namespace.create" in types
    assert "image.activate" in types
    assert not {t for t in types if t.startswith(("task.", "metadef_tag."))}
