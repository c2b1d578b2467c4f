"""Helpers of the delayed-delete tests: two stores, the scrubber run at a chosen time, the log."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from catalog.commands.registry import CommandBus
from catalog.commands.scrub_image import ScrubImage, ScrubOutcome, scrubber_metadata
from catalog.events import RecordedEvent
from infra.bootstrap import Container
from infra.settings import DeletionSettings, Settings, StoresSettings
from stores.filesystem import FilesystemStore
from tests.integration.conftest import (
    ADMIN,
    ApiClient,
    embedded_settings,
    settled,
    uploaded_image_id,
)

SCRUB_TIME = timedelta(hours=1)
RETRY_SECONDS = 600


def delayed_settings(tmp_path: Path, database_url: str, **deletion: Any) -> Settings:
    """Delayed delete on, scrubbed an hour after the delete, in two filesystem stores:
    `cheap` (the default) and `fast`."""
    stores = StoresSettings(
        stores="cheap:file,fast:file",
        options={"cheap": {"dir": tmp_path / "cheap"}, "fast": {"dir": tmp_path / "fast"}},
    )
    chosen = {
        "delayed_delete": True,
        "scrub_time": int(SCRUB_TIME.total_seconds()),
        "scrub_retry_seconds": RETRY_SECONDS,
        **deletion,
    }
    return embedded_settings(
        tmp_path, database_url, stores=stores, deletion=DeletionSettings(**chosen)
    )


async def image_in_both_stores(api: ApiClient, data: bytes = b"twice") -> str:
    """An active image of PROJECT_A with its data in `cheap`, copied into `fast` (by an admin)."""
    image_id = await uploaded_image_id(api, data)
    response = await api.post(
        f"/v2/images/{image_id}/import",
        json={"method": {"name": "copy-image"}, "stores": ["fast"]},
        headers=ADMIN,
    )
    assert response.status == 202, await response.text()
    await settled(api)
    return image_id


def files_in(container: Container, store: str) -> list[Path]:
    driver = container.stores.named(store).driver
    assert isinstance(driver, FilesystemStore)
    return sorted(p for p in driver.root.rglob("*") if p.is_file()) if driver.root.exists() else []


class FixedClock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at


def later(delta: timedelta = SCRUB_TIME + timedelta(minutes=1)) -> datetime:
    """A time `delta` from now: by default, when a scrub of an image deleted now is due."""
    return datetime.now(UTC) + delta


async def scrub(container: Container, image_id: str, at: datetime | None = None) -> ScrubOutcome:
    """The scrubber's work on one image, as if run at `at` (now by default), without waiting
    between attempts at a failing store."""
    context = container.bus.context
    deletion = replace(context.deletion, attempt_backoff=0.0)
    bus = CommandBus(replace(context, clock=FixedClock(at or datetime.now(UTC)), deletion=deletion))
    outcome: ScrubOutcome = await bus.dispatch(
        ScrubImage(image_id=uuid.UUID(image_id)), scrubber_metadata()
    )
    return outcome


async def history(container: Container, image_id: str) -> list[RecordedEvent]:
    return await container.log.load_stream(uuid.UUID(image_id))


async def event_types(container: Container, image_id: str) -> list[str]:
    return [recorded.event_type for recorded in await history(container, image_id)]
