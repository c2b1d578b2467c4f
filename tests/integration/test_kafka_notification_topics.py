"""A `kafka://` transport lays notifications out as oslo.messaging's Kafka driver does, a topic
per priority, while the catalog's own topic keeps every notification in one stream."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from infra.db.tables import notification
from infra.settings import NotificationSettings
from tests.conftest import service_setting
from tests.integration.conftest import ApiBuilder, failed_upload_image_id
from tests.integration.kafka_pipeline import (
    oslo_messages,
    pipeline_settings,
    published,
    relay_and_consumers,
    running,
)
from tests.integration.test_consumers_kafka import PER_IMAGE, busy_image
from tests.waiting import until

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]

SECONDS = 120


async def test_a_topic_per_priority_beside_the_catalogs_own_topic(
    tmp_path: Path, postgres_url: str, api_for: ApiBuilder
) -> None:
    bootstrap = service_setting("CATALOG_TEST_KAFKA_BOOTSTRAP")
    settings = pipeline_settings(tmp_path, postgres_url, bootstrap)
    topic = f"notifications-test-{uuid.uuid4().hex[:10]}"
    settings.notifications = NotificationSettings(
        topic=settings.notifications.topic, transport_url=f"kafka://{bootstrap}/", topics=topic
    )
    api, container = await api_for(settings)

    def written(conn: sa.Connection) -> dict[str, str]:
        rows = conn.execute(sa.select(notification.c.message_id, notification.c.priority))
        return {str(message_id): priority for message_id, priority in rows}

    async with running(*relay_and_consumers(container)):
        await asyncio.gather(busy_image(api), failed_upload_image_id(api))

        async def all_written() -> dict[str, str]:
            priorities = await container.database.read(written)
            return priorities if len(priorities) == PER_IMAGE + 5 else {}

        priorities = await until(all_written, "every notification in the outbox")
        info = {id_ for id_, priority in priorities.items() if priority == "INFO"}
        error = {id_ for id_, priority in priorities.items() if priority == "ERROR"}
        own = await published(settings, set(priorities), SECONDS)
        on_info = await oslo_messages(bootstrap, f"{topic}.info", info, SECONDS)
        on_error = await oslo_messages(bootstrap, f"{topic}.error", error, SECONDS)

    assert len(error) == 1
    assert {m["message_id"] for m in own} == set(priorities)
    assert {m["message_id"] for m in on_info} == info
    assert {m["message_id"] for m in on_error} == error
    assert {m["priority"] for m in on_info} == {"INFO"}
    # oslo.messaging's Kafka listener reads the request context from `_context`.
    assert all("request_id" in m["_context"] for m in [*own, *on_info, *on_error])
