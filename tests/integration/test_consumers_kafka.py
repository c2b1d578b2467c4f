"""Consumers in a Kafka group on PostgreSQL: effects exactly once, through rebalances."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer

from infra.consumers.sources import KafkaTail
from infra.consumers.status import consumer_status
from infra.kafka.relay import event_relay
from infra.relay import run_relay
from tests.conftest import service_setting
from tests.integration.conftest import PROJECT_A, ApiBuilder, ApiClient, created_image_id
from tests.integration.kafka_pipeline import (
    outbox_ids,
    pipeline_settings,
    published,
    relay_and_consumers,
    running,
)
from tests.waiting import until

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]

IMAGES = 40
RENAMES = 2
PER_IMAGE = 1 + RENAMES  # image.create, then one image.update per rename


async def busy_image(api: ApiClient) -> None:
    image_id = await created_image_id(api)
    headers = {**PROJECT_A, "Content-Type": "application/openstack-images-v2.1-json-patch"}
    for n in range(RENAMES):
        patch = [{"op": "replace", "path": "/name", "value": f"name-{n}"}]
        response = await api.patch(f"/v2/images/{image_id}", json=patch, headers=headers)
        assert response.status == 200


async def test_a_group_of_consumers_notifies_once_through_rebalances(
    tmp_path: Path, postgres_url: str, api_for: ApiBuilder
) -> None:
    settings = pipeline_settings(
        tmp_path, postgres_url, service_setting("CATALOG_TEST_KAFKA_BOOTSTRAP")
    )
    api, container = await api_for(settings)
    expected = IMAGES * PER_IMAGE

    async def all_applied() -> bool:
        return len(await outbox_ids(container)) >= expected

    async with running(*relay_and_consumers(container, consumers=2)) as tasks:
        await asyncio.gather(*(busy_image(api) for _ in range(IMAGES // 2)))
        # One member of the group leaves mid-stream: its partitions move to the other.
        tasks[-1].cancel()
        await asyncio.gather(*(busy_image(api) for _ in range(IMAGES // 2)))
        await until(all_applied, "every event applied")
        ids = await outbox_ids(container)
        messages = await published(settings, set(ids), seconds=60)
        status = await consumer_status(container)

    assert len(ids) == expected
    assert len(set(ids)) == expected
    assert {m["message_id"] for m in messages} == set(ids)  # at least once on Kafka
    per_image: dict[str, list[str]] = {}
    seen: set[str] = set()
    for message in messages:
        if message["message_id"] in seen:
            # Sent again by the relay that took over from the member that left (at least once):
            # receivers drop it by its id.
            continue
        seen.add(message["message_id"])
        per_image.setdefault(message["payload"]["id"], []).append(message["event_type"])
    for types in per_image.values():
        assert types[0] == "image.create"
        assert set(types[1:]) == {"image.update"}
    assert any("notifications" in line and "0 events waiting" in line for line in status)


async def test_a_consumer_does_not_wait_for_kafka_to_take_its_offsets(
    tmp_path: Path, postgres_url: str, api_for: ApiBuilder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Kafka's copy of the offsets is only for its tools: a commit that never answers holds
    back neither the next batches nor their notifications."""
    settings = pipeline_settings(
        tmp_path, postgres_url, service_setting("CATALOG_TEST_KAFKA_BOOTSTRAP")
    )
    api, _ = await api_for(settings)
    # The consumer runs on another node than the API, so each create reaches it through Kafka
    # and is applied in a batch of its own (in the API's node it would be written at the append).
    _, container = await api_for(settings)
    commits: list[object] = []

    async def unanswered(consumer: AIOKafkaConsumer, offsets: object = None) -> None:
        commits.append(offsets)
        await asyncio.Event().wait()

    monkeypatch.setattr(AIOKafkaConsumer, "commit", unanswered)
    async with running(*relay_and_consumers(container)):
        for created in range(1, 4):  # one after the other: each its own batch
            await created_image_id(api)

            async def applied(count: int = created) -> bool:
                return len(await outbox_ids(container)) >= count

            await until(applied, f"image {created}'s notification is in the outbox")
        ids = await outbox_ids(container)
        messages = await published(settings, set(ids), seconds=60)
    assert {m["message_id"] for m in messages} == set(ids)
    assert commits, "the offsets were offered to Kafka"


async def test_records_that_come_while_a_batch_is_applied_are_fetched_meanwhile(
    tmp_path: Path, postgres_url: str, api_for: ApiBuilder
) -> None:
    """aiokafka fetches a partition again only once its fetched records have been taken: the
    source takes them as they come, so an event published while the consumer applies a batch
    is fetched before that batch is done, not after it."""
    settings = pipeline_settings(
        tmp_path, postgres_url, service_setting("CATALOG_TEST_KAFKA_BOOTSTRAP")
    )
    api, container = await api_for(settings)
    relay = event_relay(container.log, settings.kafka)
    source = KafkaTail(
        settings.kafka, container.database, "ahead", batch_size=50, idle_seconds=0.05
    )
    async with running(run_relay(relay, settings.kafka, container.log.appended)):
        await source.start()
        try:
            first = await created_image_id(api)
            delivery = await until(source.next, "the first event is delivered")
            assert delivery is not None
            # The consumer is busy with `delivery` from here on: it asks for nothing more.
            second = await created_image_id(api)

            async def on_kafka() -> bool:
                ends = await source.kafka.end_offsets(list(source.kafka.assignment()))
                return bool(sum(ends.values()) == 2)

            async def fetched() -> bool:
                ends = await source.kafka.end_offsets(list(source.kafka.assignment()))
                positions = {tp: await source.kafka.position(tp) for tp in ends}
                return bool(positions == ends)

            await until(on_kafka, "the second event is on Kafka")
            await until(fetched, "the second event is fetched while the first is applied")
            await source.delivered(delivery)
            following = await until(source.next, "the second event is delivered")
        finally:
            await source.stop()
    assert following is not None
    assert [str(event.stream_id) for event in delivery.events] == [first]
    # (More if the group was rebalanced meanwhile: then both come again, from the start.)
    assert second in [str(event.stream_id) for event in following.events]
