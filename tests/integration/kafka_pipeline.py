"""The whole pipeline on PostgreSQL and a Kafka broker: API, relays, consumers."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from aiokafka import AIOKafkaConsumer

from infra.bootstrap import Container
from infra.consumers.registry import run_job
from infra.db.tables import notification
from infra.kafka.relay import event_relay
from infra.relay import run_relay
from infra.settings import ConsumerSettings, KafkaSettings, NotificationSettings, Settings
from tests.integration.conftest import embedded_settings


def pipeline_settings(tmp_path: Path, postgres_url: str, bootstrap: str) -> Settings:
    """PostgreSQL and Kafka, with topics of this test's own."""
    suffix = uuid.uuid4().hex[:10]
    settings = embedded_settings(tmp_path, postgres_url)
    settings.kafka = KafkaSettings(
        bootstrap_servers=bootstrap,
        events_topic=f"catalog.events.test-{suffix}",
        relay_idle_seconds=0.01,
    )
    settings.notifications = NotificationSettings(topic=f"catalog.notifications.test-{suffix}")
    settings.consumers = ConsumerSettings(in_process="", idle_seconds=0.05)
    return settings


@asynccontextmanager
async def running(*jobs: Any) -> AsyncIterator[list[asyncio.Task[None]]]:
    """Run coroutines as tasks for the block's duration; cancelled and awaited at its end."""
    tasks = [asyncio.create_task(job) for job in jobs]
    try:
        yield tasks
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def relay_and_consumers(container: Container, consumers: int = 1) -> list[Any]:
    settings = container.settings
    relay = event_relay(container.log, settings.kafka)
    return [
        run_relay(relay, settings.kafka, container.log.appended),
        *(run_job(container, "notifications") for _ in range(consumers)),
    ]


async def outbox_ids(container: Container) -> list[str]:
    def read(conn: sa.Connection) -> list[str]:
        rows = conn.execute(sa.select(notification.c.message_id).order_by(notification.c.position))
        return [str(message_id) for message_id in rows.scalars()]

    return await container.database.read(read)


async def published(settings: Settings, expected: set[str], seconds: float) -> list[dict[str, Any]]:
    """The oslo messages on the catalog's own notifications topic until every `expected`
    message id has come (or the time is up)."""
    bootstrap = str(settings.kafka.bootstrap_servers)
    return await oslo_messages(bootstrap, settings.notifications.topic, expected, seconds)


async def oslo_messages(
    bootstrap: str, topic: str, expected: set[str], seconds: float
) -> list[dict[str, Any]]:
    """Messages on `topic` until every `expected` message id has come (or the time is up):
    the oslo message inside each record's envelope."""
    reader = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await reader.start()
    messages: list[dict[str, Any]] = []
    try:
        deadline = asyncio.get_running_loop().time() + seconds
        while not expected <= {m["message_id"] for m in messages}:
            if asyncio.get_running_loop().time() > deadline:
                break
            batches = await reader.getmany(timeout_ms=500)
            for records in batches.values():
                for record in records:
                    envelope = json.loads(record.value)
                    assert envelope["oslo.version"] == "2.0"
                    message = json.loads(envelope["oslo.message"])
                    payload = message["payload"]
                    if isinstance(payload, dict):  # keyed by image: in order per image
                        image_id = payload.get("id") or payload["image_id"]
                        assert record.key == image_id.encode()
                    messages.append(message)
    finally:
        await reader.stop()
    return messages
