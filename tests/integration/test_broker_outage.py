"""With the Kafka broker stopped, writes go on (the log is the outbox); when it is back, the
relays catch up and every consumer's effects appear exactly once.

The test runs a broker of its own (the project's script, with another state folder and ports),
so stopping it leaves the rest of the suite's broker alone.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.conftest import ApiBuilder
from tests.integration.kafka_pipeline import (
    outbox_ids,
    pipeline_settings,
    published,
    relay_and_consumers,
    running,
)
from tests.integration.test_consumers_kafka import PER_IMAGE, busy_image
from tests.own_services import OwnService, own_service
from tests.waiting import until

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]

IMAGES_PER_PHASE = 10


@pytest.fixture
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OwnService]:
    with own_service("kafka", tmp_path_factory.mktemp("broker")) as own:
        yield own


async def test_writes_go_on_without_the_broker_and_nothing_is_lost_or_doubled(
    tmp_path: Path, postgres_url: str, api_for: ApiBuilder, broker: OwnService
) -> None:
    bootstrap = broker.settings["CATALOG_TEST_KAFKA_BOOTSTRAP"]
    settings = pipeline_settings(tmp_path, postgres_url, bootstrap)
    api, container = await api_for(settings)
    async with running(*relay_and_consumers(container)):
        await asyncio.gather(*(busy_image(api) for _ in range(IMAGES_PER_PHASE)))

        async def applied(count: int) -> bool:
            return len(await outbox_ids(container)) >= count

        await until(lambda: applied(IMAGES_PER_PHASE * PER_IMAGE), "the first images applied")

        await asyncio.to_thread(broker.down)
        # Every write succeeds while the broker is away: the API never talks to Kafka.
        await asyncio.gather(*(busy_image(api) for _ in range(IMAGES_PER_PHASE)))
        await asyncio.to_thread(broker.up)

        expected = 2 * IMAGES_PER_PHASE * PER_IMAGE
        await until(lambda: applied(expected), "every image applied")
        ids = await outbox_ids(container)
        messages = await published(settings, set(ids), seconds=120)

    assert len(ids) == expected
    assert len(set(ids)) == expected  # each effect once
    assert {m["message_id"] for m in messages} == set(ids)  # each published, at least once
