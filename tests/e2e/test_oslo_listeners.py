"""oslo.messaging's own notification listener, as Ceilometer runs it, on the real RabbitMQ and
the real Kafka, given every notification Glance would send for what python-glanceclient did to
a `catalog serve`: Glance's event types, priorities and payloads, the configured publisher id,
and who did it through which request in the context. Both transports are configured at once.
"""

from __future__ import annotations

import asyncio
import io
import os
import uuid
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from glanceclient.exc import HTTPBadRequest

from infra.kafka.relay import PARTITIONS, ensure_topic
from tests.conftest import service_setting
from tests.e2e.conftest import PROJECT_A, StartServer, glance_api
from tests.e2e.oslo_listening import Listener, oslo_listener
from tests.waiting import eventually

pytestmark = [pytest.mark.rabbitmq, pytest.mark.kafka]

PUBLISHER = "image.catalog-e2e"
IMAGE_FIELDS = {
    "id", "name", "status", "created_at", "updated_at", "min_disk", "min_ram", "protected",
    "checksum", "owner", "disk_format", "container_format", "size", "virtual_size", "is_public",
    "visibility", "properties", "tags", "deleted", "deleted_at",
}  # fmt: skip
MEMBER_FIELDS = {
    "image_id", "member_id", "status", "created_at", "updated_at", "deleted", "deleted_at"
}  # fmt: skip
SEND_FIELDS = {"bytes_sent", "image_id", "owner_id", "receiver_tenant_id", "receiver_user_id"}

# What Glance sends for each call, in order.
LIFE = [
    ("image.create", "info"),  # create
    ("image.update", "info"),  # upload: saving
    ("image.prepare", "info"),
    ("image.upload", "info"),
    ("image.activate", "info"),
    ("image.update", "info"),  # active
    ("image.update", "info"),  # update: renamed
    ("image.member.create", "info"),  # member add
    ("image.send", "info"),  # download
    ("image.update", "info"),  # deactivate
    ("image.delete", "info"),  # delete
]
FAILED = [
    ("image.create", "info"),
    ("image.update", "info"),  # saving
    ("image.prepare", "info"),
    ("image.upload", "error"),  # the upload came short
    ("image.update", "info"),  # queued again
]


def kafka_group_from_the_start(bootstrap: str, topics: list[str], group: str) -> None:
    """Create the topics, and place consumer group `group` at their start: oslo's Kafka
    listener starts a new group at the end, which would miss what came before it joined."""

    async def place() -> None:
        for topic in topics:
            await ensure_topic(bootstrap, topic)
        placing = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group)
        await placing.start()
        try:
            partitions = [
                TopicPartition(topic, partition)
                for topic in topics
                for partition in range(PARTITIONS)
            ]
            placing.assign(partitions)
            await placing.commit({partition: 0 for partition in partitions})
        finally:
            await placing.stop()

    asyncio.run(place())


def drive(url: str, tmp_path: Path) -> dict[str, Any]:
    """Glance's calls through python-glanceclient; what a listener should see of them."""
    client = glance_api(url, PROJECT_A)
    data = os.urandom(1 << 20)
    (tmp_path / "disk.img").write_bytes(data)
    image = client.images.create(name="listened", disk_format="raw", container_format="bare")
    with (tmp_path / "disk.img").open("rb") as source:
        client.images.upload(image.id, source)
    client.images.update(image.id, name="renamed")
    client.image_members.create(image.id, "proj-b")
    assert b"".join(client.images.data(image.id)) == data
    client.images.deactivate(image.id)
    client.images.delete(image.id)

    short = client.images.create(disk_format="raw", container_format="bare")
    with pytest.raises(HTTPBadRequest):
        client.images.upload(short.id, io.BytesIO(b"abc"), image_size=10)
    return {
        "image": image.id,
        "failed": short.id,
        "request_id": image.request_ids[0],
        "size": len(data),
    }


def heard(listener: Listener, count: int) -> None:
    eventually(
        lambda: len(listener.distinct()) >= count,
        lambda: f"every notification heard; the listener said:\n{listener.said()}",
    )


def image_of(notification: dict[str, Any]) -> str:
    payload = notification["payload"]
    if isinstance(payload, str):  # an upload's failure: Glance sends only its text
        return next(word.rstrip(":") for word in payload.split() if _is_uuid(word.rstrip(":")))
    return str(payload.get("image_id") or payload["id"])


def _is_uuid(word: str) -> bool:
    try:
        uuid.UUID(word)
    except ValueError:
        return False
    return True


def by_image(listener: Listener) -> dict[str, list[dict[str, Any]]]:
    images: dict[str, list[dict[str, Any]]] = {}
    for notification in listener.distinct():
        images.setdefault(image_of(notification), []).append(notification)
    return images


def per_priority(
    heard: list[dict[str, Any]] | list[tuple[str, str]],
) -> dict[str, list[str]]:
    """Event types in order, priority by priority: each priority has its queue or topic, and
    a listener reads them side by side, so only the order within one priority is kept."""
    types: dict[str, list[str]] = {}
    for entry in heard:
        event_type, priority = (
            (entry["event_type"], entry["priority"]) if isinstance(entry, dict) else entry
        )
        types.setdefault(priority, []).append(event_type)
    return types


def check(listener: Listener, done: dict[str, Any]) -> None:
    images = by_image(listener)
    life, failed = images[done["image"]], images[done["failed"]]
    assert per_priority(life) == per_priority(LIFE)
    assert per_priority(failed) == per_priority(FAILED)
    for notification in [*life, *failed]:
        assert notification["publisher_id"] == PUBLISHER
        assert set(notification["metadata"]) == {"message_id", "timestamp"}
        context = notification["ctxt"]
        assert context["user_id"] == PROJECT_A["X-User-Id"]
        assert context["project_id"] == PROJECT_A["X-Project-Id"]
        assert set(context["roles"]) == {"member", "reader"}
        assert context["request_id"].startswith("req-")
        payload = notification["payload"]
        match notification["event_type"]:
            case "image.member.create":
                assert set(payload) == MEMBER_FIELDS
                assert payload["member_id"] == "proj-b"
            case "image.send":
                assert set(payload) == SEND_FIELDS
                assert payload["bytes_sent"] == done["size"]
            case _ if isinstance(payload, dict):
                assert set(payload) >= IMAGE_FIELDS
    assert life[0]["ctxt"]["request_id"] == done["request_id"]
    assert life[0]["payload"]["name"] == "listened"
    assert life[6]["payload"]["name"] == "renamed"
    assert life[9]["payload"]["status"] == "deactivated"
    assert life[10]["payload"]["deleted"] is True
    [error] = [n for n in failed if n["priority"] == "error"]
    assert done["failed"] in error["payload"]


def test_oslo_messaging_listeners_on_rabbitmq_and_kafka_hear_what_glance_would_say(
    serve: StartServer, tmp_path: Path
) -> None:
    rabbitmq = service_setting("CATALOG_TEST_RABBITMQ_URL")
    bootstrap = service_setting("CATALOG_TEST_KAFKA_BOOTSTRAP")
    suffix = uuid.uuid4().hex[:10]
    exchange, topic, group = f"glance-e2e-{suffix}", f"notifications-e2e-{suffix}", f"e2e-{suffix}"
    kafka_group_from_the_start(bootstrap, [f"{topic}.info", f"{topic}.error"], group)
    with (
        oslo_listener(rabbitmq, exchange, topic) as on_rabbitmq,
        oslo_listener(f"kafka://{bootstrap}/", exchange, topic, pool=group) as on_kafka,
    ):
        url = serve(
            {
                "CATALOG_NOTIFICATIONS_TRANSPORT_URL": f"{rabbitmq} kafka://{bootstrap}/ noop",
                "CATALOG_NOTIFICATIONS_EXCHANGE": exchange,
                "CATALOG_NOTIFICATIONS_TOPICS": topic,
                "CATALOG_NOTIFICATIONS_PUBLISHER_ID": PUBLISHER,
            }
        )
        done = drive(url, tmp_path)
        for listener in (on_rabbitmq, on_kafka):
            heard(listener, len(LIFE) + len(FAILED))

    check(on_rabbitmq, done)
    check(on_kafka, done)
