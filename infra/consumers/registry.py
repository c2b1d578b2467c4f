"""The consumers there are, each with what runs beside it, and how one is run."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from infra.bootstrap import Container
from infra.consumers.base import ConsumerJob, EventSource, InlineConsumer
from infra.consumers.inline import InlineConsumers
from infra.consumers.notifications import notifications_job
from infra.consumers.runner import run_consumer
from infra.consumers.scrubber import scrubber_job
from infra.consumers.sources import KafkaTail, LogTail

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
    """Run consumer `name` and its companions until cancelled; a consumer that can apply
    events at their append does so in this process's appends meanwhile."""
    job = job_for(container, name)
    source = source_for(container, job.consumer.name)
    consumer = job.consumer
    inline: InlineConsumers | None = None
    if isinstance(consumer, InlineConsumer):
        inline = container.inline_consumers
        inline.add(consumer, job.after_commit)
    try:
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(
                run_consumer(
                    consumer,
                    source,
                    container.database,
                    after_commit=job.after_commit,
                    inline=inline,
                )
            )
            for companion in job.companions:
                tasks.create_task(companion())
    finally:
        if inline is not None:
            inline.remove(consumer.name)
