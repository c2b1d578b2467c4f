"""The consumers there are, each with what runs beside it, and how one is run."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog

from infra.bootstrap import Container
from infra.consumers.base import Consumer, EventSource
from infra.consumers.notifications import NotificationsConsumer
from infra.consumers.runner import run_consumer
from infra.consumers.scrubber import ScrubberConsumer, run_scrubber
from infra.consumers.sources import KafkaTail, LogTail
from infra.db.checkpoints import load_checkpoint
from infra.db.notification_outbox import prune_notifications
from infra.kafka.relay import NOTIFICATIONS_CHECKPOINT, notification_relay, run_relay
from infra.wakeup import Wakeup

log = structlog.get_logger(__name__)

PRUNE_INTERVAL_SECONDS = 600.0


@dataclass
class ConsumerJob:
    """A consumer, and the tasks that act on what it records (publishing, scheduling)."""

    consumer: Consumer
    after_commit: Callable[[], None] | None = None
    companions: list[Callable[[], Coroutine[Any, Any, None]]] = field(default_factory=list)


def notifications_job(container: Container) -> ConsumerJob:
    settings = container.settings
    written = Wakeup()
    job = ConsumerJob(NotificationsConsumer(settings.notifications), after_commit=written.notify)
    if settings.kafka.bootstrap_servers:
        relay = notification_relay(container.database, settings.notifications)
        job.companions.append(lambda: run_relay(relay, settings.kafka, written))
    job.companions.append(lambda: prune_outbox(container))
    return job


async def prune_outbox(container: Container) -> None:
    """Forget notifications past their retention (once published, where there is Kafka)."""
    settings = container.settings
    retention = timedelta(hours=settings.notifications.retention_hours)
    while True:
        try:
            sent = (
                await container.database.read(load_checkpoint, NOTIFICATIONS_CHECKPOINT)
                if settings.kafka.bootstrap_servers
                else None
            )
            older_than = datetime.now(UTC) - retention
            pruned = await container.database.write(prune_notifications, older_than, sent)
            if pruned:
                log.info("notifications_pruned", count=pruned)
        except Exception:
            log.exception("notifications_prune_failed")
        await asyncio.sleep(PRUNE_INTERVAL_SECONDS)


def scrubber_job(container: Container) -> ConsumerJob:
    return ConsumerJob(ScrubberConsumer(), companions=[lambda: run_scrubber(container)])


CONSUMERS: dict[str, Callable[[Container], ConsumerJob]] = {
    "notifications": notifications_job,
    "scrubber": scrubber_job,
}


def source_for(container: Container, consumer: str) -> EventSource:
    """Kafka's consumer group where the catalog runs with Kafka; else the log's own tail."""
    settings = container.settings.consumers
    if container.settings.kafka.bootstrap_servers:
        return KafkaTail(
            container.settings.kafka,
            container.database,
            consumer,
            batch_size=settings.batch_size,
            idle_seconds=settings.idle_seconds,
        )
    return LogTail(
        container.log,
        consumer,
        batch_size=settings.batch_size,
        idle_seconds=settings.idle_seconds,
    )


def job_for(container: Container, name: str) -> ConsumerJob:
    if name not in CONSUMERS:
        known = ", ".join(sorted(CONSUMERS))
        raise LookupError(f"no consumer named {name!r} (there are: {known})")
    return CONSUMERS[name](container)


async def run_job(container: Container, name: str) -> None:
    """Run consumer `name` and its companions until cancelled."""
    job = job_for(container, name)
    source = source_for(container, job.consumer.name)
    async with asyncio.TaskGroup() as tasks:
        tasks.create_task(
            run_consumer(job.consumer, source, container.database, after_commit=job.after_commit)
        )
        for companion in job.companions:
            tasks.create_task(companion())
