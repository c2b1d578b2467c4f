"""An append is the process's live work while it runs (infra/live_work.py): what a consumer
catching up in the same process gives way to."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from catalog.events import DomainEvent, EventMetadata, ImageCreated, NewEvent, RecordedEvent
from infra.db import event_log
from infra.db.database import open_database
from infra.db.event_log import SqlEventLog
from infra.db.migrate import upgrade
from infra.live_work import LiveWork


class SeesLiveWork:
    """A view that notes, as it is projected inside an append, whether live work runs."""

    name = "sees_live_work"
    tables: tuple[sa.Table, ...] = ()

    def __init__(self, live: LiveWork) -> None:
        self.live = live
        self.seen: list[bool] = []

    def apply(self, conn: sa.Connection, recorded: RecordedEvent, event: DomainEvent) -> None:
        self.seen.append(self.live.live_until() is not None)


@pytest.fixture
def live(monkeypatch: pytest.MonkeyPatch) -> LiveWork:
    counted = LiveWork(live_seconds=3600.0)
    monkeypatch.setattr(event_log, "LIVE_WORK", counted)
    return counted


@pytest.fixture
async def log(database_url: str, live: LiveWork) -> AsyncIterator[SqlEventLog]:
    database = open_database(database_url)
    await upgrade(database)
    yield SqlEventLog(database, [SeesLiveWork(live)])  # type: ignore[list-item]
    await database.close()


async def test_an_append_is_live_work_while_it_runs(log: SqlEventLog, live: LiveWork) -> None:
    event = NewEvent(event=ImageCreated(name="live"), occurred_at=datetime.now(UTC))
    assert live.live_until() is None

    await log.append(uuid.uuid4(), 0, [event], EventMetadata())

    (view,) = log.projections
    assert isinstance(view, SeesLiveWork)
    assert view.seen == [True]
    assert live.live_until() is None
