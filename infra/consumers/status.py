"""Where each consumer and relay is, and how far behind: `catalog consumers`, and the lag
figures of the servers' metrics."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from infra.bootstrap import Container
from infra.consumers.registry import CONSUMERS
from infra.consumers.sources import checkpoint_name, group_id, kafka_lag
from infra.db.checkpoints import load_checkpoint
from infra.db.database import Database
from infra.db.waiting import events_waiting, notifications_waiting
from infra.kafka.relay import CHECKPOINT
from infra.notifications.routes import notification_relays
from infra.settings import Settings


@dataclass(frozen=True)
class Behind:
    """A consumer or relay, and what waits for it."""

    kind: Literal["consumer", "relay"]
    name: str
    waiting: int
    unit: Literal["events", "notifications"]
    where: str
    """A consumer's source; a relay's destination."""
    oldest_at: datetime | None = None
    """Relays: when the oldest row waiting for it was written (None: nothing waits)."""


async def behind(database: Database, settings: Settings) -> list[Behind]:
    """Every consumer, then every relay, with what waits for it."""
    kafka = settings.kafka
    found = []
    for name in sorted(CONSUMERS):
        if kafka.bootstrap_servers:
            lag = await kafka_lag(kafka, database, name)
            source = f"Kafka group {group_id(kafka.events_topic, name)}"
        else:
            place = await database.read(load_checkpoint, checkpoint_name(name))
            lag = (await database.read(events_waiting, place)).rows
            source = "the log"
        found.append(Behind("consumer", name, lag, "events", source))
    if kafka.bootstrap_servers:
        events = await database.read(load_checkpoint, CHECKPOINT)
        waiting = await database.read(events_waiting, events)
        topic = f"Kafka topic {kafka.events_topic}"
        found.append(Behind("relay", CHECKPOINT, waiting.rows, "events", topic, waiting.oldest_at))
    for relay in notification_relays(database, kafka, settings.notifications):
        sent = await database.read(load_checkpoint, relay.name)
        waiting = await database.read(notifications_waiting, sent)
        to = relay.destination.describe
        found.append(
            Behind("relay", relay.name, waiting.rows, "notifications", to, waiting.oldest_at)
        )
    return found


def _line(one: Behind) -> str:
    if one.kind == "consumer":
        return f"consumer {one.name}: from {one.where}; {one.waiting} {one.unit} waiting"
    if one.unit == "events":
        return f"relay {one.name}: {one.waiting} events waiting"
    return f"relay {one.name} to {one.where}: {one.waiting} notifications waiting"


async def consumer_status(container: Container) -> list[str]:
    """One line per consumer and relay: its name, its source and the events waiting for it."""
    return [_line(one) for one in await behind(container.database, container.settings)]
