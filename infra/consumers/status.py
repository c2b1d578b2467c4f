"""Where each consumer and relay is, and how far behind: `catalog consumers`."""

from __future__ import annotations

from infra.bootstrap import Container
from infra.consumers.registry import CONSUMERS
from infra.consumers.sources import checkpoint_name, events_after, group_id, kafka_lag
from infra.db.checkpoints import load_checkpoint
from infra.db.notification_outbox import notifications_after
from infra.kafka.relay import CHECKPOINT
from infra.notifications.routes import notification_relays


async def consumer_status(container: Container) -> list[str]:
    """One line per consumer and relay: its name, its source and the events waiting for it."""
    database, kafka = container.database, container.settings.kafka
    lines = []
    for name in sorted(CONSUMERS):
        if kafka.bootstrap_servers:
            lag = await kafka_lag(kafka, database, name)
            source = f"Kafka group {group_id(kafka.events_topic, name)}"
        else:
            place = await database.read(load_checkpoint, checkpoint_name(name))
            lag = await database.read(events_after, place)
            source = "the log"
        lines.append(f"consumer {name}: from {source}; {lag} events waiting")
    if kafka.bootstrap_servers:
        events = await database.read(load_checkpoint, CHECKPOINT)
        lag = await database.read(events_after, events)
        lines.append(f"relay {CHECKPOINT}: {lag} events waiting")
    for relay in notification_relays(database, kafka, container.settings.notifications):
        sent = await database.read(load_checkpoint, relay.name)
        lag = await database.read(notifications_after, sent)
        lines.append(
            f"relay {relay.name} to {relay.destination.describe}: {lag} notifications waiting"
        )
    return lines
