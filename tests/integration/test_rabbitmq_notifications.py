"""Notifications relayed to the real RabbitMQ as oslo.messaging's rabbit driver publishes them:
the control exchange, a queue per priority, the 2.0 envelope, persistent messages; compared
with what oslo.messaging's own notifier puts there."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from infra.consumers.registry import run_job
from infra.consumers.status import consumer_status
from infra.db.tables import notification
from tests.integration.conftest import (
    PROJECT_A,
    ApiBuilder,
    created_image_id,
    failed_upload_image_id,
)
from tests.integration.kafka_pipeline import outbox_ids, running
from tests.integration.rabbitmq_queues import (
    amqp_channel,
    durable,
    rabbitmq_settings,
    taken_off,
    with_ids,
)
from tests.waiting import until

pytestmark = pytest.mark.rabbitmq

PEER_SECONDS = 120


async def oslo_notify(rabbitmq_url: str, exchange: str, topic: str) -> None:
    """One notification sent by oslo.messaging's own notifier, as Glance sends them."""
    peer = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.oslo_messaging_peer",
        "notify",
        rabbitmq_url,
        "--exchange",
        exchange,
        "--topic",
        topic,
        "--durable",
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    try:
        assert await asyncio.wait_for(peer.wait(), PEER_SECONDS) == 0
    finally:
        if peer.returncode is None:  # not done in time: not left running after the test
            peer.kill()
            await peer.wait()


async def test_notifications_are_published_as_oslo_messaging_publishes_them(
    tmp_path: Path, sqlite_url: str, rabbitmq_url: str, api_for: ApiBuilder
) -> None:
    settings = rabbitmq_settings(tmp_path, sqlite_url, rabbitmq_url)
    exchange, topic = settings.notifications.exchange, settings.notifications.topics
    api, container = await api_for(settings)
    created = await api.post(
        "/v2/images", json={"disk_format": "raw", "container_format": "bare"}, headers=PROJECT_A
    )
    request_id = created.headers["x-openstack-request-id"]
    failed = await failed_upload_image_id(api)

    def rows(conn: sa.Connection) -> list[sa.Row[tuple[str, str, str]]]:
        query = sa.select(
            notification.c.message_id, notification.c.priority, notification.c.subject_id
        )
        return list(conn.execute(query.order_by(notification.c.position)))

    async with running(run_job(container, "notifications")), amqp_channel(rabbitmq_url) as channel:

        async def all_written() -> list[sa.Row[tuple[str, str, str]]]:
            written = await container.database.read(rows)
            # The first image's create; the second's create, the start of its upload
            # (update, prepare), the failure (upload at ERROR priority) and update (queued).
            return written if len(written) == 1 + 5 else []

        written = await until(all_written, "the notifications written to the outbox")
        info = {str(r.message_id) for r in written if r.priority == "INFO"}
        error = {str(r.message_id) for r in written if r.priority == "ERROR"}
        on_info = await taken_off(channel, f"{topic}.info", with_ids(info))
        on_error = await taken_off(channel, f"{topic}.error", with_ids(error))
        # Made by the catalog: durable, so what is queued survives a restart of the broker.
        assert await durable(channel, exchange, f"{topic}.info")

        async def relay_caught_up() -> str:
            lines = [line for line in await consumer_status(container) if "RabbitMQ" in line]
            return lines[0] if lines and lines[0].endswith(": 0 notifications waiting") else ""

        status = await until(relay_caught_up, "the RabbitMQ relay's status with nothing waiting")

    async with amqp_channel(rabbitmq_url) as channel:
        await oslo_notify(rabbitmq_url, exchange, topic)
        [reference] = await taken_off(channel, f"{topic}.info", lambda taken: bool(taken))

    assert len(error) == 1
    # Where it publishes, without the credentials of the transport URL.
    assert f"RabbitMQ exchange {exchange} at rabbit://127.0.0.1:" in status
    assert "@" not in status
    for message in [*on_info, *on_error]:
        assert message.exchange == exchange
        assert message.properties == reference.properties  # JSON, UTF-8, persistent
        assert set(message.envelope) == set(reference.envelope) == {"oslo.version", "oslo.message"}
        assert message.envelope["oslo.version"] == "2.0"
        fields = {key for key in message.message if not key.startswith("_context_")}
        assert fields == {key for key in reference.message if not key.startswith("_context_")}
        assert message.message["_unique_id"] == message.message["message_id"].replace("-", "")
    assert {m.routing_key for m in on_info} == {f"{topic}.info"}
    assert [m.message["priority"] for m in on_error] == ["ERROR"]
    assert on_error[0].message["event_type"] == "image.upload"
    assert failed in on_error[0].message["payload"]
    create, *_ = on_info
    assert create.message["event_type"] == "image.create"
    assert create.message["_context_request_id"] == request_id
    assert create.message["_context_user_id"] == PROJECT_A["X-User-Id"]
    assert create.message["_context_project_id"] == PROJECT_A["X-Project-Id"]
    assert set(create.message["_context_roles"]) == {"member", "reader"}


async def test_a_queue_deleted_under_the_relay_is_made_again_before_more_is_sent(
    tmp_path: Path, sqlite_url: str, rabbitmq_url: str, api_for: ApiBuilder
) -> None:
    """A message RabbitMQ cannot route (its queue was deleted while the relay was connected)
    comes back to the relay instead of being dropped: the relay connects again, makes the queue
    again and sends it again. Each notification goes to every topic's queue."""
    settings = rabbitmq_settings(tmp_path, sqlite_url, rabbitmq_url)
    topic = settings.notifications.topics
    topics = f"{topic},{topic}-audit"
    settings.notifications = settings.notifications.model_copy(update={"topics": topics})
    queue, other = f"{topic}.info", f"{topic}-audit.info"
    api, container = await api_for(settings)

    async def written(count: int) -> set[str]:
        ids = set(await outbox_ids(container))
        return ids if len(ids) == count else set()

    async with running(run_job(container, "notifications")), amqp_channel(rabbitmq_url) as channel:
        await created_image_id(api)
        before = await until(lambda: written(1), "the first image's notification written")
        await taken_off(channel, queue, with_ids(before))
        await channel.queue_delete(queue)

        await created_image_id(api)
        after = await until(lambda: written(2), "the second image's notification written")
        await taken_off(channel, queue, with_ids(after - before))
        await taken_off(channel, other, with_ids(after))
