"""The notifications consumer running in a process writes an event's notifications in the
transaction that appends it, where it is up to date with the stream: the same notifications,
in the same order, once each, as it would write from its source."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.util import await_only

from infra.bootstrap import Container
from infra.consumers.notifications import NotificationsConsumer
from infra.consumers.registry import run_job
from infra.db.consumer_state import applied_versions
from infra.db.tables import consumer_applied
from tests.integration.conftest import (
    PROJECT_A,
    ApiBuilder,
    ApiClient,
    created_image_id,
    embedded_settings,
)
from tests.integration.consuming import consume_log
from tests.integration.test_notifications import forget_notifications, image_life, outbox
from tests.waiting import DEADLINE_SECONDS, until


def inline_consumer(container: Container) -> NotificationsConsumer:
    """The notifications consumer, applying at the appends of `container`'s log from now on."""
    consumer = NotificationsConsumer(container.settings.notifications)
    container.inline_consumers.add(consumer, None)
    return consumer


async def applied_version(container: Container, stream_id: str) -> int | None:
    query = sa.select(consumer_applied.c.version).where(
        consumer_applied.c.consumer == "notifications",
        consumer_applied.c.stream_id == uuid.UUID(stream_id),
    )
    return await container.database.read(lambda conn: conn.execute(query).scalar())


def registered(container: Container) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return "notifications" in container.inline_consumers

    return check


@contextlib.asynccontextmanager
async def running(container: Container, name: str) -> AsyncIterator[None]:
    """Consumer `name` running as `catalog serve` runs it, until the block ends."""
    job = asyncio.create_task(run_job(container, name))
    try:
        yield
    finally:
        job.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await job


async def test_a_create_is_notified_in_its_own_transaction(
    api: ApiClient, container: Container
) -> None:
    async with running(container, "notifications"):
        await until(registered(container), "the consumer applies at appends")
        image_id = await created_image_id(api)

        # Answered 201: the notification and what was applied are already committed with it.
        messages = await outbox(container)
        assert [m["event_type"] for m in messages] == ["image.create"]
        assert messages[0]["payload"]["id"] == image_id
        assert await applied_version(container, image_id) == 1
    assert "notifications" not in container.inline_consumers

    # A consumer started afresh (as after a crash right after the create) finds it applied.
    assert await consume_log(container, "notifications") == 0
    assert await outbox(container) == messages


async def test_notifications_at_the_append_are_those_the_consumer_writes(
    api: ApiClient, container: Container
) -> None:
    inline_consumer(container)
    await image_life(api, container)
    at_appends = await outbox(container)
    assert await consume_log(container, "notifications") == 0  # every one was done already

    container.inline_consumers.remove("notifications")
    await container.database.write(forget_notifications)
    assert await consume_log(container, "notifications") > 0
    assert await outbox(container) == at_appends
    assert len({m["message_id"] for m in at_appends}) == len(at_appends)


async def test_an_event_whose_stream_waits_for_the_consumer_is_left_to_it(
    api: ApiClient, container: Container
) -> None:
    image_id = await created_image_id(api)  # nobody applies at appends yet
    inline_consumer(container)
    patch = [{"op": "replace", "path": "/name", "value": "b"}]
    headers = {**PROJECT_A, "Content-Type": "application/openstack-images-v2.1-json-patch"}
    assert (await api.patch(f"/v2/images/{image_id}", json=patch, headers=headers)).status == 200

    assert await outbox(container) == []  # not before the create's own notification
    assert await consume_log(container, "notifications") == 2
    types = [m["event_type"] for m in await outbox(container)]
    assert types == ["image.create", "image.update"]


@pytest.mark.postgres
async def test_an_append_does_not_wait_for_a_consumers_batch_holding_its_stream(
    tmp_path: Path, api_for: ApiBuilder, postgres_url: str
) -> None:
    api, container = await api_for(embedded_settings(tmp_path, postgres_url))
    inline_consumer(container)
    image_id = await created_image_id(api)  # applied at its append: the stream has a record
    holding, release = asyncio.Event(), asyncio.Event()

    def batch(conn: sa.Connection) -> None:
        # As the consumer's batch from its source does: the stream's record held until it ends.
        applied_versions(conn, "notifications", [uuid.UUID(image_id)])
        holding.set()
        await_only(release.wait())

    async def held() -> bool:
        return holding.is_set()

    batch_running = asyncio.create_task(container.database.write_derived(batch))
    try:
        await until(held, "the consumer's batch holds the stream's record")
        patch = [{"op": "replace", "path": "/name", "value": "b"}]
        headers = {**PROJECT_A, "Content-Type": "application/openstack-images-v2.1-json-patch"}
        async with asyncio.timeout(DEADLINE_SECONDS):  # waiting for the batch would never end
            answer = await api.patch(f"/v2/images/{image_id}", json=patch, headers=headers)
        assert answer.status == 200
        assert [m["event_type"] for m in await outbox(container)] == ["image.create"]
    finally:
        release.set()
        await batch_running

    assert await consume_log(container, "notifications") == 1  # the update, left to the source
    types = [m["event_type"] for m in await outbox(container)]
    assert types == ["image.create", "image.update"]


async def test_a_consumers_own_failure_at_the_append_leaves_the_event_to_its_source(
    api: ApiClient, container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    consumer = inline_consumer(container)

    def broken(*args: Any) -> None:
        raise RuntimeError("a notification that cannot be built")

    monkeypatch.setattr(consumer, "apply_inline", broken)
    image_id = await created_image_id(api)  # the create itself succeeds

    assert await outbox(container) == []
    assert await applied_version(container, image_id) is None
    monkeypatch.undo()
    assert await consume_log(container, "notifications") == 1
    assert [m["event_type"] for m in await outbox(container)] == ["image.create"]
