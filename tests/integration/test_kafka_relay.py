"""The relay on the real PostgreSQL and Kafka: every committed event, in order per image."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from aiokafka import AIOKafkaConsumer

from catalog.commands.repository import ImageRepository
from catalog.events import EventMetadata, ImageCreated
from catalog.identity import Actor
from catalog.image import Image
from catalog.projections.registry import INLINE_PROJECTIONS
from infra.db.checkpoints import load_checkpoint
from infra.db.database import Pool, open_database
from infra.db.event_log import SqlEventLog
from infra.db.migrate import upgrade
from infra.kafka.relay import CHECKPOINT, event_relay
from infra.relay import run_relay
from infra.settings import KafkaSettings
from tests.conftest import service_setting
from tests.waiting import DEADLINE_SECONDS, until

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]

META = EventMetadata(
    actor=Actor(user_id="u", project_id="p", roles=("member",)), request_id="req-x"
)
IMAGES = 60
EVENTS_PER_IMAGE = 5


@pytest.fixture
def kafka() -> KafkaSettings:
    return KafkaSettings(
        bootstrap_servers=service_setting("CATALOG_TEST_KAFKA_BOOTSTRAP"),
        events_topic=f"catalog.events.test-{uuid.uuid4().hex[:10]}",
        relay_batch_size=20,
        relay_idle_seconds=0.01,
    )


@pytest.fixture
async def log(postgres_url: str) -> AsyncIterator[SqlEventLog]:
    database = open_database(postgres_url, pool=Pool(size=20))
    await upgrade(database)
    yield SqlEventLog(database, INLINE_PROJECTIONS)
    await database.close()


async def start_relay(env: dict[str, str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "infra.cli",
        "relay",
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )


async def image_lifecycle(images: ImageRepository) -> uuid.UUID:
    """create, then two upload attempts that fail: five events on one stream."""
    now = datetime.now(UTC)
    image = Image.create(
        uuid.uuid4(), ImageCreated(disk_format="raw", container_format="bare"), now
    )
    await images.save(image, META)
    for _ in range(2):
        await images.change(
            image.id,
            META,
            lambda i: i.start_upload(
                store="file", location="file:///x", expected_size=None, now=now
            ),
        )
        await images.change(image.id, META, lambda i: i.fail_upload("test", now))
    return image.id


async def consume_all(kafka: KafkaSettings, expected: int) -> list[tuple[str, dict[str, object]]]:
    """Read the topic from the start until `expected` distinct events arrived (bounded)."""
    consumer = AIOKafkaConsumer(
        kafka.events_topic,
        bootstrap_servers=kafka.bootstrap_servers,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    received: list[tuple[str, dict[str, object]]] = []
    try:
        loop = asyncio.get_running_loop()
        stop_at = loop.time() + DEADLINE_SECONDS
        while loop.time() < stop_at:
            batches = await consumer.getmany(timeout_ms=500)
            for records in batches.values():
                for r in records:
                    received.append((r.key.decode(), json.loads(r.value)))
            if len({(k, v["streamversion"]) for k, v in received}) >= expected:
                break
    finally:
        await consumer.stop()
    return received


def assert_in_order_per_image(
    received: list[tuple[str, dict[str, object]]], images: list[uuid.UUID]
) -> None:
    per_image: dict[str, list[object]] = {}
    for key, value in received:
        assert value["specversion"] == "1.0"
        assert value["subject"] == key
        versions = per_image.setdefault(key, [])
        if value["streamversion"] not in versions:  # at least once: duplicates may follow
            versions.append(value["streamversion"])
    assert set(per_image) == {str(i) for i in images}
    for versions in per_image.values():
        assert versions == list(range(1, EVENTS_PER_IMAGE + 1))


async def test_concurrent_writes_all_reach_kafka_in_order_per_image(
    log: SqlEventLog, kafka: KafkaSettings
) -> None:
    relay = asyncio.create_task(run_relay(event_relay(log, kafka), kafka))
    try:
        images = ImageRepository(log)
        ids = await asyncio.gather(*(image_lifecycle(images) for _ in range(IMAGES)))
        received = await consume_all(kafka, IMAGES * EVENTS_PER_IMAGE)
    finally:
        relay.cancel()
        await asyncio.gather(relay, return_exceptions=True)
    assert_in_order_per_image(received, list(ids))
    assert len(received) == IMAGES * EVENTS_PER_IMAGE, "no crash, so no duplicates"
    created = next(v for _, v in received if v["type"] == "image.created")
    assert created["requestid"] == "req-x"
    assert created["actorprojectid"] == "p"


async def test_a_relay_killed_midway_loses_nothing_when_restarted(
    log: SqlEventLog, kafka: KafkaSettings, postgres_url: str
) -> None:
    images = ImageRepository(log)
    ids = list(await asyncio.gather(*(image_lifecycle(images) for _ in range(IMAGES))))
    env = {
        **os.environ,
        "CATALOG_DATABASE_URL": postgres_url,
        "CATALOG_KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers or "",
        "CATALOG_KAFKA_EVENTS_TOPIC": kafka.events_topic,
        "CATALOG_KAFKA_RELAY_BATCH_SIZE": "10",
    }
    first = await start_relay(env)
    try:
        # Kill it (SIGKILL, no clean-up) as soon as it has published part of the log.
        async def published_some() -> bool:
            return (await log.database.read(load_checkpoint, CHECKPOINT)).position > 0

        await until(published_some, "the relay published part of the log")
        first.send_signal(signal.SIGKILL)
        await first.wait()
        reached = await log.database.read(load_checkpoint, CHECKPOINT)
        assert reached.position > 0, "the relay never got going"

        ids += await asyncio.gather(*(image_lifecycle(images) for _ in range(10)))
        second = await start_relay(env)
        try:
            received = await consume_all(kafka, len(ids) * EVENTS_PER_IMAGE)
        finally:
            second.terminate()
            await second.wait()
    finally:
        if first.returncode is None:
            first.kill()
            await first.wait()
    assert_in_order_per_image(received, ids)
