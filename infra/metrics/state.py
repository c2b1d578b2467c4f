"""The figures of the service as a whole, read from the database when a scrape asks: the
log's head, what waits for each relay and consumer, the scrubber's queue, the last rebuild.

A scrape never counts on the database: the reads are bounded in time, and without an answer
(the database down, too slow) the figures are left out and `catalog_state_up` says so."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
import structlog
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric

from infra.consumers.status import Behind, behind
from infra.db.database import Database
from infra.db.rebuild_record import RebuildRecord, load_rebuild_record
from infra.db.tables import event, scrub_schedule
from infra.settings import Settings

log = structlog.get_logger(__name__)

REBUILD_STALE_SECONDS = 60.0
"""A rebuild whose record is older than this has stopped without saying so (its process died):
a running one writes its record every few seconds (infra/rebuild_progress.py)."""


@dataclass(frozen=True)
class ServiceState:
    head: int
    behind: list[Behind]
    scrub_queued: int
    scrub_due: int
    rebuild: RebuildRecord | None
    read_at: datetime


def _read_tables(conn: sa.Connection) -> tuple[int, int, int, RebuildRecord | None]:
    now = datetime.now(UTC)
    head = conn.execute(sa.select(sa.func.max(event.c.position))).scalar_one() or 0
    queued = sa.select(sa.func.count()).select_from(scrub_schedule)
    due = queued.where(scrub_schedule.c.due_at <= now)
    return (
        int(head),
        int(conn.execute(queued).scalar_one()),
        int(conn.execute(due).scalar_one()),
        load_rebuild_record(conn),
    )


async def read_state(database: Database, settings: Settings) -> ServiceState:
    head, queued, due, rebuild = await database.read(_read_tables)
    lags = await behind(database, settings)
    return ServiceState(head, lags, queued, due, rebuild, datetime.now(UTC))


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)


def _labelled(
    name: str, documentation: str, label: str, values: Iterable[tuple[str, float]]
) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, documentation, labels=[label])
    for key, value in values:
        family.add_metric([key], value)
    return family


def _rebuild_families(record: RebuildRecord | None, now: datetime) -> Iterator[Metric]:
    if record is None:
        return
    fresh = (now - record.updated_at).total_seconds() < REBUILD_STALE_SECONDS
    running = record.finished_at is None and fresh
    yield _gauge("catalog_rebuild_running", "1 while a rebuild of the views runs.", running)
    yield _gauge(
        "catalog_rebuild_events_replayed", "Events the last rebuild replayed.", record.replayed
    )
    yield _gauge(
        "catalog_rebuild_events_total",
        "Events the last rebuild has to replay (the log's size when it looked).",
        record.total,
    )
    yield _gauge(
        "catalog_rebuild_updated_timestamp_seconds",
        "When the last rebuild last said how it goes (Unix time).",
        record.updated_at.timestamp(),
    )


def families(state: ServiceState | None) -> Iterator[Metric]:
    """The state as metric families; only `catalog_state_up` 0 without it."""
    yield _gauge(
        "catalog_state_up",
        "1 if this scrape could read the service's state from the database.",
        state is not None,
    )
    if state is None:
        return
    yield _gauge("catalog_log_head_position", "Position of the last event in the log.", state.head)
    consumers = [one for one in state.behind if one.kind == "consumer"]
    relays = [one for one in state.behind if one.kind == "relay"]
    yield _labelled(
        "catalog_consumer_lag_events",
        "Events of the log the consumer has not applied yet.",
        "consumer",
        ((one.name, one.waiting) for one in consumers),
    )
    yield _labelled(
        "catalog_relay_lag_events",
        "Rows (events, or notifications) the relay has not published yet.",
        "relay",
        ((one.name, one.waiting) for one in relays),
    )
    yield _labelled(
        "catalog_relay_lag_seconds",
        "Age of the oldest row the relay has not published yet (0 when none waits).",
        "relay",
        ((one.name, _age(one.oldest_at, state.read_at)) for one in relays),
    )
    yield _gauge(
        "catalog_scrubber_queue_images",
        "Deleted images waiting to be scrubbed.",
        state.scrub_queued,
    )
    yield _gauge("catalog_scrubber_due_images", "Of those, the images due now.", state.scrub_due)
    yield from _rebuild_families(state.rebuild, state.read_at)


def _age(since: datetime | None, now: datetime) -> float:
    return 0.0 if since is None else max(0.0, (now - since).total_seconds())


async def state_within(
    database: Database, settings: Settings, seconds: float
) -> ServiceState | None:
    """The state, or None if it cannot be read within `seconds` (the reason logged)."""
    try:
        return await asyncio.wait_for(read_state(database, settings), seconds)
    except TimeoutError:
        log.warning("metrics_state_not_read", reason=f"no answer within {seconds} s")
    except Exception as e:
        # Whatever stops the reads (the database or Kafka down), the scrape still answers.
        log.warning("metrics_state_not_read", reason=str(e) or type(e).__name__)
    return None
