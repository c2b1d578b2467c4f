"""The scrubber as a consumer: it schedules images pending deletion from the events and scrubs
them when due; a restore takes an image off the schedule; its notifications are Glance's."""

from __future__ import annotations

import json
import uuid
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from catalog.commands.scrub_image import ScrubResult
from infra.bootstrap import Container
from infra.consumers.scrubber import scrub_due
from infra.db.tables import consumer_applied, notification, scrub_schedule
from tests.integration.conftest import (
    ADMIN,
    PROJECT_A,
    ApiBuilder,
    ApiClient,
    uploaded_image_id,
)
from tests.integration.consuming import consume_log
from tests.integration.delayed_delete import (
    SCRUB_TIME,
    FixedClock,
    delayed_settings,
    event_types,
    files_in,
    image_in_both_stores,
    later,
)


@pytest.fixture
async def delayed(
    tmp_path: Path, database_url: str, api_for: ApiBuilder
) -> tuple[ApiClient, Container]:
    return await api_for(delayed_settings(tmp_path, database_url))


async def schedule(container: Container) -> dict[str, datetime]:
    def read(conn: sa.Connection) -> dict[str, datetime]:
        rows = conn.execute(sa.select(scrub_schedule.c.image_id, scrub_schedule.c.due_at))
        return {str(row.image_id): row.due_at for row in rows}

    return await container.database.read(read)


def applied_streams(conn: sa.Connection, consumer: str) -> list[uuid.UUID]:
    query = sa.select(consumer_applied.c.stream_id).where(consumer_applied.c.consumer == consumer)
    return list(conn.execute(query).scalars())


def at(container: Container, when: datetime) -> Container:
    """The same container, its commands running at `when`."""
    context = replace(
        container.bus.context,
        clock=FixedClock(when),
        deletion=replace(container.bus.context.deletion, attempt_backoff=0.0),
    )
    return replace(container, bus=type(container.bus)(context))


async def test_a_delayed_delete_is_scheduled_then_scrubbed_when_due(
    delayed: tuple[ApiClient, Container],
) -> None:
    api, container = delayed
    image_id = await image_in_both_stores(api)
    kept = await uploaded_image_id(api, b"kept")
    assert (await api.delete(f"/v2/images/{image_id}", headers=PROJECT_A)).status == 204

    await consume_log(container, "scrubber")
    [(scheduled, due)] = (await schedule(container)).items()
    assert scheduled == image_id
    # Only what it acts on is recorded as applied: the image kept is none of its business.
    assert await container.database.read(applied_streams, "scrubber") == [uuid.UUID(image_id)]
    delay = due - datetime.now(due.tzinfo)
    assert SCRUB_TIME - delay < SCRUB_TIME / 10

    assert await scrub_due(container) == []  # not due yet: nothing happens
    assert files_in(container, "cheap")
    assert files_in(container, "fast")

    [outcome] = await scrub_due(at(container, later()))
    assert outcome.result is ScrubResult.SCRUBBED
    left = [p.name for store in ("cheap", "fast") for p in files_in(container, store)]
    assert left == [kept]  # the other image's data, untouched
    assert (await event_types(container, image_id))[-1] == "image.scrubbed"
    await consume_log(container, "scrubber")
    assert await schedule(container) == {}


async def test_a_restored_image_leaves_the_schedule(
    delayed: tuple[ApiClient, Container],
) -> None:
    api, container = delayed
    image_id = await image_in_both_stores(api)
    assert (await api.delete(f"/v2/images/{image_id}", headers=PROJECT_A)).status == 204
    await consume_log(container, "scrubber")
    restore = await api.post(f"/v2/images/{image_id}/actions/restore", headers=ADMIN)
    assert restore.status == 204, await restore.text()

    await consume_log(container, "scrubber")

    assert await schedule(container) == {}
    assert await scrub_due(at(container, later())) == []
    assert files_in(container, "cheap")
    assert (await api.get(f"/v2/images/{image_id}", headers=PROJECT_A)).status == 200


async def test_delete_and_restore_are_notified_and_the_scrub_is_not(
    delayed: tuple[ApiClient, Container],
) -> None:
    api, container = delayed
    image_id = await image_in_both_stores(api)
    assert (await api.delete(f"/v2/images/{image_id}", headers=PROJECT_A)).status == 204
    restore = await api.post(f"/v2/images/{image_id}/actions/restore", headers=ADMIN)
    assert restore.status == 204
    assert (await api.delete(f"/v2/images/{image_id}", headers=PROJECT_A)).status == 204
    await consume_log(container, "scrubber")
    await scrub_due(at(container, later()))

    await consume_log(container, "notifications")

    def types(conn: sa.Connection) -> list[tuple[str, str]]:
        query = sa.select(notification.c.event_type, notification.c.message).where(
            notification.c.subject_id == image_id
        )
        rows = conn.execute(query)
        return [(row.event_type, json.loads(row.message)["payload"]["status"]) for row in rows]

    tail = (await container.database.read(types))[-3:]
    assert tail == [
        ("image.delete", "pending_delete"),
        ("image.update", "active"),
        ("image.delete", "pending_delete"),
    ]
