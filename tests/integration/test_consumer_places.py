"""A consumer passes by the events it does not act on without a transaction of its own; their
place is written with the next ones it acts on, once the log goes quiet, or once it has waited
long enough. Nothing is skipped: the place always ends at the head of the log.

On SQLite only: the runner is the same on both, and PostgreSQL's never-skipping read may find
nothing for a moment while other transactions run, which counts as the log going quiet."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from infra.bootstrap import Container
from infra.consumers import runner
from infra.consumers.base import Consumer
from infra.consumers.notifications import NotificationsConsumer
from infra.consumers.registry import job_for
from infra.consumers.runner import run_consumer
from infra.consumers.sources import LogTail, checkpoint_name
from infra.db.checkpoints import load_checkpoint
from infra.db.database import Database
from infra.db.tables import consumer_applied
from tests.integration.conftest import (
    PROJECT_A,
    ApiBuilder,
    ApiClient,
    created_image_id,
    embedded_settings,
)
from tests.integration.consuming import _last_cursor
from tests.integration.delayed_delete import delayed_settings
from tests.waiting import until


@pytest.fixture
async def api_on_sqlite(
    tmp_path: Path, sqlite_url: str, api_for: ApiBuilder
) -> tuple[ApiClient, Container]:
    return await api_for(embedded_settings(tmp_path, sqlite_url))


class CountingWrites:
    """The container's database, counting the write transactions asked of it."""

    def __init__(self, database: Database) -> None:
        self._database = database
        self.writes = 0

    async def write(self, work: Any, *args: Any, **kwargs: Any) -> Any:
        self.writes += 1
        return await self._database.write(work, *args, **kwargs)

    async def write_derived(self, work: Any, *args: Any, **kwargs: Any) -> Any:
        self.writes += 1
        return await self._database.write_derived(work, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._database, name)


async def writes_to_the_head(container: Container, consumer: Consumer | None = None) -> int:
    """Run `consumer` (by default the scrubber, which acts on pending deletions only), one
    event per delivery, until its place is at the end of the log; how many write transactions
    it asked for."""
    database = CountingWrites(container.database)
    consumer = consumer or job_for(container, "scrubber").consumer
    source = LogTail(container.log, consumer.name, batch_size=1, idle_seconds=0.01)
    head = await container.database.read(_last_cursor)
    consuming = asyncio.create_task(
        run_consumer(consumer, source, database, inline=container.inline_consumers)  # type: ignore[arg-type]
    )
    try:

        async def at_head() -> bool:
            place = await container.database.read(load_checkpoint, checkpoint_name(consumer.name))
            return place >= head

        await until(at_head, "the consumer's place reaches the end of the log")
    finally:
        consuming.cancel()
        with pytest.raises(asyncio.CancelledError):
            await consuming
    return database.writes


async def applied_by_scrubber(container: Container) -> int:
    def count(conn: sa.Connection) -> int:
        query = sa.select(sa.func.count()).where(consumer_applied.c.consumer == "scrubber")
        return int(conn.execute(query).scalar_one())

    return await container.database.read(count)


async def test_unwanted_events_are_passed_by_in_one_write_once_the_log_is_quiet(
    api_on_sqlite: tuple[ApiClient, Container], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runner, "PLACE_SAVE_INTERVAL", 3600.0)
    api, container = api_on_sqlite
    for _ in range(4):
        await created_image_id(api)

    assert await writes_to_the_head(container) == 1  # four deliveries' places together
    assert await applied_by_scrubber(container) == 0


async def test_a_place_passed_by_is_written_once_it_has_waited_long_enough(
    api_on_sqlite: tuple[ApiClient, Container], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runner, "PLACE_SAVE_INTERVAL", 0.0)
    api, container = api_on_sqlite
    for _ in range(3):
        await created_image_id(api)

    assert await writes_to_the_head(container) >= 3  # each delivery's place at once


async def test_a_wanted_event_writes_the_places_passed_by_with_its_own(
    tmp_path: Path, sqlite_url: str, api_for: ApiBuilder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runner, "PLACE_SAVE_INTERVAL", 3600.0)
    api, container = await api_for(delayed_settings(tmp_path, sqlite_url))
    for _ in range(3):
        await created_image_id(api)
    deleted = await created_image_id(api)
    assert (await api.delete(f"/v2/images/{deleted}", headers=PROJECT_A)).status == 204

    assert await writes_to_the_head(container) == 1  # the deletion's carries those before it
    assert await applied_by_scrubber(container) == 1


async def test_events_applied_at_their_append_are_passed_by(
    api_on_sqlite: tuple[ApiClient, Container], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runner, "PLACE_SAVE_INTERVAL", 3600.0)
    api, container = api_on_sqlite
    consumer = NotificationsConsumer(container.settings.notifications)
    container.inline_consumers.add(consumer, None)
    for _ in range(4):
        await created_image_id(api)

    assert await writes_to_the_head(container, consumer) == 1  # four creates' places together
