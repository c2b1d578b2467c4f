"""The scrubber's work on one image (`scrub_image`): nothing before its time; then the bytes go
from every store, each removal recorded; failing stores are tried again, and a process dying
between removing bytes and recording it loses nothing and removes nothing twice."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from catalog.claims import Claim
from catalog.commands.scrub_image import ScrubResult
from catalog.events import EventMetadata, ImageLocationRemoved, NewEvent
from catalog.projections.images import image as image_table
from infra.bootstrap import Container
from infra.projection_rebuild import rebuild_projections
from stores.errors import StoreError, StoreUnavailable
from stores.filesystem import FilesystemStore
from tests.integration.conftest import (
    ADMIN,
    PROJECT_A,
    ApiBuilder,
    ApiClient,
    event_count,
    uploaded_image_id,
)
from tests.integration.delayed_delete import (
    RETRY_SECONDS,
    delayed_settings,
    event_types,
    files_in,
    history,
    image_in_both_stores,
    later,
    scrub,
)


@pytest.fixture
async def delayed(
    tmp_path: Path, database_url: str, api_for: ApiBuilder
) -> tuple[ApiClient, Container]:
    return await api_for(delayed_settings(tmp_path, database_url))


async def deleted_in_both_stores(api: ApiClient) -> str:
    image_id = await image_in_both_stores(api)
    response = await api.delete(f"/v2/images/{image_id}", headers=PROJECT_A)
    assert response.status == 204, await response.text()
    return image_id


async def row_status(container: Container, image_id: str) -> str | None:
    query = sa.select(image_table.c.status).where(image_table.c.id == uuid.UUID(image_id))
    return await container.database.read(lambda conn: conn.execute(query).scalar_one_or_none())


class Deletions:
    """Every delete asked of a filesystem store, and whether there were bytes to delete."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, container: Container) -> None:
        self.calls: list[tuple[str, bool]] = []
        for name in ("cheap", "fast"):
            driver = container.stores.named(name).driver
            assert isinstance(driver, FilesystemStore)
            monkeypatch.setattr(driver, "delete", self._recording(driver, driver.delete))

    def _recording(self, driver: FilesystemStore, delete: Any) -> Any:
        async def recorded(location: str) -> None:
            self.calls.append((location, driver.path_of(location).exists()))
            await delete(location)

        return recorded

    @property
    def bytes_removed(self) -> list[str]:
        return [location for location, existed in self.calls if existed]


def failing(store_delete: Any, failures: int, error: Exception) -> Any:
    """A store delete that raises `error` the first `failures` times (-1: always)."""
    left = [failures]

    async def delete(location: str) -> None:
        if left[0] != 0:
            left[0] -= 1
            raise error
        await store_delete(location)

    return delete


async def test_nothing_is_scrubbed_before_its_time(delayed: tuple[ApiClient, Container]) -> None:
    api, container = delayed
    image_id = await deleted_in_both_stores(api)
    before = await event_count(container)

    outcome = await scrub(container, image_id)

    assert outcome.result is ScrubResult.NOT_DUE
    pending = (await history(container, image_id))[-1]
    assert outcome.due_at is not None
    assert outcome.due_at.isoformat().replace("+00:00", "Z") == pending.data["scrub_after"]
    assert await event_count(container) == before
    assert len(files_in(container, "cheap")) == len(files_in(container, "fast")) == 1


async def test_a_due_scrub_removes_the_bytes_from_every_store(
    delayed: tuple[ApiClient, Container], monkeypatch: pytest.MonkeyPatch
) -> None:
    api, container = delayed
    image_id = await deleted_in_both_stores(api)
    assert await row_status(container, image_id) == "pending_delete"
    deletions = Deletions(monkeypatch, container)

    outcome = await scrub(container, image_id, later())

    assert outcome.result is ScrubResult.SCRUBBED
    assert files_in(container, "cheap") == files_in(container, "fast") == []
    events = await history(container, image_id)
    assert [e.event_type for e in events[-4:]] == [
        "image.scrub_started",
        "image.location_removed",
        "image.location_removed",
        "image.scrubbed",
    ]
    assert {e.data["store"] for e in events[-3:-1]} == {"cheap", "fast"}
    assert {e.metadata.actor.user_id for e in events[-4:]} == {"catalog-scrubber"}
    assert all((e.metadata.request_id or "").startswith("req-scrub-") for e in events[-4:])
    assert await row_status(container, image_id) is None
    assert len(deletions.bytes_removed) == 2
    # Scrubbed is final: scrubbing again does nothing, touches no store.
    before = await event_count(container)
    assert (await scrub(container, image_id, later())).result is ScrubResult.NOTHING_TO_DO
    assert await event_count(container) == before
    assert len(deletions.calls) == 2
    gone = await api.get(f"/v2/images/{image_id}", headers=ADMIN)
    assert gone.status == 404


async def test_a_transient_store_failure_is_tried_again(
    delayed: tuple[ApiClient, Container], monkeypatch: pytest.MonkeyPatch
) -> None:
    api, container = delayed
    image_id = await deleted_in_both_stores(api)
    driver = container.stores.named("fast").driver
    monkeypatch.setattr(
        driver, "delete", failing(driver.delete, 2, StoreUnavailable("connection reset"))
    )

    outcome = await scrub(container, image_id, later())

    assert outcome.result is ScrubResult.SCRUBBED
    assert "image.scrub_failed" not in await event_types(container, image_id)
    assert files_in(container, "fast") == []


async def test_a_store_that_keeps_failing_is_recorded_and_scrubbed_later(
    delayed: tuple[ApiClient, Container], monkeypatch: pytest.MonkeyPatch
) -> None:
    api, container = delayed
    image_id = await deleted_in_both_stores(api)
    driver = container.stores.named("cheap").driver
    monkeypatch.setattr(driver, "delete", failing(driver.delete, -1, StoreUnavailable("down")))
    first_try = later()

    outcome = await scrub(container, image_id, first_try)

    retry_at = first_try + timedelta(seconds=RETRY_SECONDS)
    assert outcome.result is ScrubResult.FAILED
    assert outcome.due_at == retry_at
    failed = (await history(container, image_id))[-1]
    assert failed.event_type == "image.scrub_failed"
    assert failed.data["store"] == "cheap"
    assert failed.data["attempts"] == 3
    assert failed.data["location"].startswith("file://")
    assert "not available" in failed.data["reason"]
    assert await row_status(container, image_id) == "pending_delete"
    assert len(files_in(container, "cheap")) == 1
    # Not again before the retry time; then, with the store back, it completes.
    assert (await scrub(container, image_id, retry_at - timedelta(seconds=1))).due_at == retry_at
    monkeypatch.undo()

    outcome = await scrub(container, image_id, retry_at)

    assert outcome.result is ScrubResult.SCRUBBED
    assert files_in(container, "cheap") == files_in(container, "fast") == []
    types = await event_types(container, image_id)
    assert types.count("image.scrub_started") == 1
    assert types.count("image.location_removed") == 2


async def test_a_store_error_that_is_not_transient_is_not_tried_again(
    delayed: tuple[ApiClient, Container], monkeypatch: pytest.MonkeyPatch
) -> None:
    api, container = delayed
    image_id = await uploaded_image_id(api)
    await api.delete(f"/v2/images/{image_id}", headers=PROJECT_A)
    driver = container.stores.named("cheap").driver
    monkeypatch.setattr(driver, "delete", failing(driver.delete, -1, StoreError("refused")))

    outcome = await scrub(container, image_id, later())

    assert outcome.result is ScrubResult.FAILED
    assert (await history(container, image_id))[-1].data["attempts"] == 1


async def test_a_crash_between_removing_bytes_and_recording_it_is_harmless(
    delayed: tuple[ApiClient, Container], monkeypatch: pytest.MonkeyPatch
) -> None:
    api, container = delayed
    image_id = await deleted_in_both_stores(api)
    deletions = Deletions(monkeypatch, container)
    append = container.log.append
    crashes = [1]

    async def crashing_once(
        stream_id: uuid.UUID,
        expected_version: int,
        events: Sequence[NewEvent],
        metadata: EventMetadata,
        claim: Claim | None = None,
    ) -> Any:
        if crashes[0] and isinstance(events[0].event, ImageLocationRemoved):
            crashes[0] = 0
            raise ConnectionError("the database went away")
        return await append(stream_id, expected_version, events, metadata, claim)

    monkeypatch.setattr(container.log, "append", crashing_once)
    with pytest.raises(ConnectionError):
        await scrub(container, image_id, later())
    assert len(deletions.bytes_removed) == 1
    assert "image.location_removed" not in await event_types(container, image_id)

    outcome = await scrub(container, image_id, later())

    assert outcome.result is ScrubResult.SCRUBBED
    assert files_in(container, "cheap") == files_in(container, "fast") == []
    types = await event_types(container, image_id)
    assert types.count("image.scrub_started") == 1
    assert types.count("image.location_removed") == 2
    assert types[-1] == "image.scrubbed"
    # The first location was asked again (already absent: a no-op); no bytes went twice.
    removed = deletions.bytes_removed
    assert len(removed) == len(set(removed)) == 2
    assert len(deletions.calls) == 3


async def test_views_rebuilt_from_the_log_equal_the_inline_ones(
    delayed: tuple[ApiClient, Container],
) -> None:
    api, container = delayed
    pending, restored, scrubbed = [await uploaded_image_id(api) for _ in range(3)]
    for image_id in (pending, restored, scrubbed):
        await api.delete(f"/v2/images/{image_id}", headers=PROJECT_A)
    await api.post(f"/v2/images/{restored}/actions/restore", headers=ADMIN)
    await scrub(container, scrubbed, later())

    def snapshot(conn: sa.Connection) -> list[tuple[Any, ...]]:
        rows = conn.execute(sa.select(image_table).order_by(image_table.c.id))
        return [tuple(row) for row in rows]

    inline = await container.database.read(snapshot)
    await rebuild_projections(container.log)

    assert await container.database.read(snapshot) == inline
    assert await row_status(container, pending) == "pending_delete"
    assert await row_status(container, restored) == "active"
    assert await row_status(container, scrubbed) is None
