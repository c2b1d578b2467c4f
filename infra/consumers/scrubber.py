"""The scrubber: removes the data of images deleted with delayed delete, once their time comes.

Two parts. The consumer keeps the schedule (`scrub_schedule`: which image is due when) from the
events, in the transaction that records them as applied: an image pending deletion is added
with its `scrub_after`, a failed scrub moves it to its `retry_after`, a restore or the end of
the scrub takes it off. The worker, one per database at a time, scrubs what is due
(`catalog/commands/scrub_image.py`, which decides from the image's events, so a stale row or a
second look is harmless) and moves each row to when it is due again.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
import structlog

from catalog.commands.scrub_image import ScrubImage, ScrubOutcome, ScrubResult, scrubber_metadata
from catalog.errors import DatabaseUnavailable
from catalog.events import (
    DomainEvent,
    ImageDeleted,
    ImageDeletePending,
    ImageRestored,
    ImageScrubbed,
    ImageScrubFailed,
    RecordedEvent,
)
from infra.bootstrap import Container
from infra.consumers.base import ConsumerJob
from infra.db.database import run_through_outages
from infra.db.leadership import leadership
from infra.db.tables import scrub_schedule

log = structlog.get_logger(__name__)

NAME = "scrubber"
BATCH = 100
LONGEST_SLEEP_SECONDS = 5.0
"""The worker looks at least this often: the consumer may have scheduled something sooner."""

_SCHEDULE = sa.text(
    "INSERT INTO scrub_schedule (image_id, due_at) VALUES (:image_id, :due_at)"
    " ON CONFLICT (image_id) DO UPDATE SET due_at = excluded.due_at"
).bindparams(
    sa.bindparam("image_id", type_=scrub_schedule.c.image_id.type),
    sa.bindparam("due_at", type_=scrub_schedule.c.due_at.type),
)


class ScrubberConsumer:
    name = NAME
    event_types: frozenset[str] | None = frozenset(
        cls.event_type
        for cls in (
            ImageDeletePending,
            ImageScrubFailed,
            ImageRestored,
            ImageScrubbed,
            ImageDeleted,
        )
    )

    def apply(
        self, conn: sa.Connection, events: Sequence[tuple[RecordedEvent, DomainEvent]]
    ) -> None:
        for recorded, event in events:
            match event:
                case ImageDeletePending(scrub_after=due) | ImageScrubFailed(retry_after=due):
                    conn.execute(_SCHEDULE, {"image_id": recorded.stream_id, "due_at": due})
                case ImageRestored() | ImageScrubbed() | ImageDeleted():
                    conn.execute(
                        sa.delete(scrub_schedule).where(
                            scrub_schedule.c.image_id == recorded.stream_id
                        )
                    )


def due_images(conn: sa.Connection, now: datetime, limit: int) -> list[uuid.UUID]:
    query = (
        sa.select(scrub_schedule.c.image_id)
        .where(scrub_schedule.c.due_at <= now)
        .order_by(scrub_schedule.c.due_at)
        .limit(limit)
    )
    return list(conn.execute(query).scalars())


def next_due(conn: sa.Connection) -> datetime | None:
    return conn.execute(sa.select(sa.func.min(scrub_schedule.c.due_at))).scalar_one_or_none()


def reschedule(conn: sa.Connection, image_id: uuid.UUID, due_at: datetime | None) -> None:
    """Move an image to when it is due again, or take it off (None)."""
    row = scrub_schedule.c.image_id == image_id
    if due_at is None:
        conn.execute(sa.delete(scrub_schedule).where(row))
    else:
        conn.execute(sa.update(scrub_schedule).where(row).values(due_at=due_at))


async def scrub_due(container: Container) -> list[ScrubOutcome]:
    """Scrub every image due now; returns the outcomes."""
    outcomes = []
    now = container.bus.context.clock.now()
    retry = container.bus.context.deletion.retry_delay
    for image_id in await container.database.read(due_images, now, BATCH):
        try:
            outcome: ScrubOutcome = await container.bus.dispatch(
                ScrubImage(image_id=image_id), scrubber_metadata()
            )
        except DatabaseUnavailable:
            raise  # nothing can be scrubbed or rescheduled until the database is back
        except Exception:
            # Anything else: this image waits its retry, the others go on.
            log.exception("image_scrub_error", image_id=str(image_id))
            await container.database.write(reschedule, image_id, now + retry)
            continue
        waits = outcome.result in (ScrubResult.NOT_DUE, ScrubResult.FAILED)
        again = outcome.due_at if waits else None
        await container.database.write(reschedule, image_id, again)
        outcomes.append(outcome)
    return outcomes


async def run_scrubber(container: Container) -> None:
    """Scrub what is due until cancelled; one process per database does it at a time. A
    database outage takes its lock away: it takes it again when the database is back."""
    await run_through_outages(container.database, lambda: _scrub_while_leading(container))


async def _scrub_while_leading(container: Container) -> None:
    async with leadership(container.database, "scrubber.worker") as lease:
        log.info("scrubber_started")
        while True:
            try:
                lease.check()
                await scrub_due(container)
                upcoming = await container.database.read(next_due)
            except DatabaseUnavailable:
                raise
            except Exception:
                log.exception("scrubber_round_failed")
                upcoming = None
            sleep = LONGEST_SLEEP_SECONDS
            if upcoming is not None:
                wait = (upcoming - datetime.now(UTC)).total_seconds()
                sleep = min(max(wait, 0.05), LONGEST_SLEEP_SECONDS)
            await asyncio.sleep(sleep)


def scrubber_job(container: Container) -> ConsumerJob:
    """The consumer that keeps the schedule, and the worker that scrubs what is due."""
    return ConsumerJob(ScrubberConsumer(), companions=[lambda: run_scrubber(container)])
