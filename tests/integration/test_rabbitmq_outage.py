"""RabbitMQ stopped and started again while images are written: nothing is lost, neither what
was queued before (durable queue, persistent messages) nor what was written meanwhile (the
outbox keeps it until the broker confirms it), and each image's notifications keep their order.

The test runs a RabbitMQ of its own (the project's script, with another state folder and
ports), so stopping it leaves the rest of the suite's broker alone.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from infra.consumers.registry import run_job
from infra.db.tables import notification
from tests.integration.conftest import ApiBuilder
from tests.integration.kafka_pipeline import running
from tests.integration.rabbitmq_queues import (
    amqp_channel,
    existing_queue,
    rabbitmq_settings,
    taken_off,
    with_ids,
)
from tests.integration.test_consumers_kafka import PER_IMAGE, busy_image
from tests.own_services import OwnService, own_service
from tests.waiting import until

pytestmark = [pytest.mark.postgres, pytest.mark.rabbitmq]

IMAGES_PER_PHASE = 8


@pytest.fixture
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OwnService]:
    with own_service("rabbitmq", tmp_path_factory.mktemp("rabbitmq")) as own:
        yield own


def outbox_order(conn: sa.Connection) -> dict[str, list[str]]:
    """Each image's notifications (message ids) in the order they were written."""
    rows = conn.execute(
        sa.select(notification.c.subject_id, notification.c.message_id).order_by(
            notification.c.position
        )
    )
    order: dict[str, list[str]] = {}
    for image_id, message_id in rows:
        order.setdefault(image_id, []).append(str(message_id))
    return order


async def test_nothing_is_lost_or_reordered_when_rabbitmq_restarts_during_writes(
    tmp_path: Path, postgres_url: str, api_for: ApiBuilder, broker: OwnService
) -> None:
    url = broker.settings["CATALOG_TEST_RABBITMQ_URL"]
    settings = rabbitmq_settings(tmp_path, postgres_url, url)
    queue = f"{settings.notifications.topics}.info"
    api, container = await api_for(settings)

    def images(count: int) -> list[asyncio.Future[None]]:
        return [asyncio.ensure_future(busy_image(api)) for _ in range(count)]

    async with running(run_job(container, "notifications")):
        await asyncio.gather(*images(IMAGES_PER_PHASE))
        async with amqp_channel(url) as channel:

            async def queued() -> bool:  # confirmed by the broker, before it stops
                declared = await existing_queue(channel, queue)
                if declared is None:
                    return False
                count = declared.declaration_result.message_count
                return count is not None and count >= IMAGES_PER_PHASE * PER_IMAGE

            await until(queued, "the first images' notifications queued")

        # Writes go on while the broker stops, is away, and starts again.
        await asyncio.gather(*images(IMAGES_PER_PHASE), asyncio.to_thread(broker.down))
        await asyncio.gather(*images(IMAGES_PER_PHASE))
        await asyncio.gather(*images(IMAGES_PER_PHASE), asyncio.to_thread(broker.up))

        expected = 4 * IMAGES_PER_PHASE * PER_IMAGE

        async def all_written() -> dict[str, list[str]]:
            order = await container.database.read(outbox_order)
            return order if sum(map(len, order.values())) == expected else {}

        order = await until(all_written, "every image's notifications in the outbox")
        ids = {message_id for messages in order.values() for message_id in messages}
        async with amqp_channel(url) as channel:
            taken = await taken_off(channel, queue, with_ids(ids))

    first_seen: dict[str, list[str]] = {}
    for message in taken:  # at least once: a copy sent again after the restart is skipped
        seen = first_seen.setdefault(message.message["payload"]["id"], [])
        if message.message["message_id"] not in seen:
            seen.append(message.message["message_id"])
    assert first_seen == order


def test_a_node_that_outlived_its_script_is_stopped_and_can_start_again(
    broker: OwnService,
) -> None:
    """The script that runs the node stops it on SIGTERM; one that does not stop in time is
    killed, and the node it started must not be left holding the ports."""
    home = broker.state / "rabbitmq"
    script = int((home / "rabbitmq.pid").read_text().split()[0])
    node = int((home / "beam.pid").read_text().split()[0])
    os.kill(script, signal.SIGKILL)  # as a stop that ran out of time does
    broker.down()
    assert not Path(f"/proc/{node}").exists(), "the node is still running"
    broker.up()
