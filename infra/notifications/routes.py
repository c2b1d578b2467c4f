"""Where the notifications outbox is relayed: one relay per destination, each with its own
checkpoint and lock, so a broker that is away holds back only its own relay.

- The catalog's own Kafka topic (`CATALOG_NOTIFICATIONS_TOPIC` on
  `CATALOG_KAFKA_BOOTSTRAP_SERVERS`): every notification in one topic, keyed by image id, for
  consumers that want them all in one ordered stream.
- Each transport of `CATALOG_NOTIFICATIONS_TRANSPORT_URL`, laid out as oslo.messaging's driver
  of its kind lays notifications out, so that oslo.messaging's listeners need nothing else:
  `rabbit://` (infra/notifications/rabbitmq.py), `kafka://` (one topic per priority,
  `<topic>.<priority>`), `noop` (nothing).

A transport's checkpoint is named after where it leads (transport_urls.py, `TransportUrl.key`):
new credentials keep its place; another cluster is another transport, which starts with the
oldest notification the outbox still holds.
"""

from __future__ import annotations

from collections.abc import Callable

from catalog.ports import LogCursor
from infra.db.database import Database
from infra.db.notification_outbox import OutboxNotification, read_notifications
from infra.kafka.relay import kafka_destination
from infra.notifications.oslo_wire import kafka_record, priority_topic
from infra.notifications.rabbitmq import rabbit_destination
from infra.notifications.transport_urls import TransportUrl
from infra.relay import Destination, Relay, RelayRead
from infra.settings import KafkaSettings, NotificationSettings

CHECKPOINT = "relay.notifications"
"""The catalog's own topic's relay (the name it always had)."""

Notifications = Destination[OutboxNotification]


def kafka_transport(url: TransportUrl, settings: NotificationSettings) -> Notifications:
    """oslo.messaging's Kafka layout: each notification to `<topic>.<priority>` per topic."""
    topics = settings.topic_names()

    def route(row: OutboxNotification) -> list[str]:
        return [priority_topic(topic, row.priority) for topic in topics]

    bootstrap = ",".join(host.address for host in url.hosts)
    layout = ", ".join(f"{topic}.<priority>" for topic in topics)
    return kafka_destination(bootstrap, route, kafka_record, f"Kafka topics {layout}")


DRIVERS: dict[str, Callable[[TransportUrl, NotificationSettings], Notifications] | None] = {
    "rabbit": rabbit_destination,
    "kafka": kafka_transport,
    "noop": None,
}
"""A transport URL's scheme, and how to publish there (None: nowhere)."""


def transport_checkpoint(url: TransportUrl) -> str:
    return f"{CHECKPOINT}.{url.key}"


def outbox_relay(
    database: Database, name: str, destination: Notifications
) -> Relay[OutboxNotification]:
    async def read(after: LogCursor, limit: int) -> RelayRead[OutboxNotification]:
        # Never caught up: the relay looks again briefly after each batch (see docs/architecture.md,
        # "The relay", for why the outbox keeps its brief looks).
        return RelayRead(await database.read(read_notifications, after, limit))

    return Relay(name, database, read, destination)


def notification_relays(
    database: Database, kafka: KafkaSettings, settings: NotificationSettings
) -> list[Relay[OutboxNotification]]:
    """Every relay of the outbox the settings ask for (none: notifications stay in it)."""
    relays = []
    if kafka.bootstrap_servers and settings.topic:
        topic = settings.topic
        own = kafka_destination(
            kafka.bootstrap_servers, lambda _: (topic,), kafka_record, f"Kafka topic {topic}"
        )
        relays.append(outbox_relay(database, CHECKPOINT, own))
    for url in settings.transport_urls():
        driver = DRIVERS[url.scheme]
        if driver is not None:
            relays.append(outbox_relay(database, transport_checkpoint(url), driver(url, settings)))
    return relays
