"""Kafka as a relay's destination (infra/relay.py), and the relay of the log to `catalog.events`.

Records are keyed by image id, so one image's rows share a partition and stay in order. The
producer is idempotent with `acks=all`: a batch counts as sent once every replica in sync has
it. Topics are created (8 partitions) the first time a connection publishes to them, unless
they exist.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Generic

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError

from catalog.ports import LogCursor
from infra.db.event_log import SqlEventLog
from infra.db.log_export import ExportedEvent, read_for_export
from infra.kafka.cloudevents import encode_exported
from infra.relay import Destination, Publisher, Relay, RelayRead, Row, acknowledged
from infra.settings import KafkaSettings

CHECKPOINT = "relay.kafka"
PARTITIONS = 8

Headers = list[tuple[str, bytes]]


@dataclass(frozen=True)
class KafkaRecord:
    key: bytes
    value: bytes
    headers: Headers


async def ensure_topic(bootstrap_servers: str, topic: str) -> None:
    """Create `topic` unless it exists."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        await admin.create_topics(
            [NewTopic(name=topic, num_partitions=PARTITIONS, replication_factor=1)]
        )
    except TopicAlreadyExistsError:
        pass
    finally:
        await admin.close()


class KafkaPublisher(Generic[Row]):
    """Sends each row as a record to the topics it is meant for, in the rows' order."""

    def __init__(
        self,
        producer: AIOKafkaProducer,
        bootstrap_servers: str,
        route: Callable[[Row], Sequence[str]],
        encode: Callable[[Row], KafkaRecord],
    ) -> None:
        self._producer = producer
        self._bootstrap_servers = bootstrap_servers
        self._route = route
        self._encode = encode
        self._topics: set[str] = set()
        """Topics known to exist on this connection."""

    async def send(self, batch: Sequence[Row]) -> asyncio.Future[None]:
        sends = []
        for row in batch:
            record = self._encode(row)
            for topic in self._route(row):
                if topic not in self._topics:
                    await ensure_topic(self._bootstrap_servers, topic)
                    self._topics.add(topic)
                sends.append(
                    await self._producer.send(
                        topic, value=record.value, key=record.key, headers=record.headers or None
                    )
                )
        return acknowledged(sends)


def kafka_destination(
    bootstrap_servers: str,
    route: Callable[[Row], Sequence[str]],
    encode: Callable[[Row], KafkaRecord],
    describe: str,
) -> Destination[Row]:
    """Kafka at `bootstrap_servers`: each row to the topics `route` names, as `encode` says."""

    @contextlib.asynccontextmanager
    async def connect() -> AsyncIterator[Publisher[Row]]:
        producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap_servers,
            enable_idempotence=True,
            acks="all",
            linger_ms=0,
        )
        try:
            await producer.start()
            yield KafkaPublisher(producer, bootstrap_servers, route, encode)
        finally:
            with contextlib.suppress(KafkaError):
                await producer.stop()

    return Destination(f"{describe} at {bootstrap_servers}", connect, (KafkaError,))


def event_relay(event_log: SqlEventLog, settings: KafkaSettings) -> Relay[ExportedEvent]:
    """The log to `catalog.events`, as CloudEvents."""
    database = event_log.database
    topic = settings.events_topic

    async def read(after: LogCursor, limit: int) -> RelayRead[ExportedEvent]:
        events, all_seen = await database.read(read_for_export, after, limit)
        return RelayRead(events, event_log.caught_up(events, limit, all_seen=all_seen))

    def encode(row: ExportedEvent) -> KafkaRecord:
        key, value = encode_exported(row)
        return KafkaRecord(key, value, [])

    destination = kafka_destination(
        str(settings.bootstrap_servers), lambda _: (topic,), encode, f"Kafka topic {topic}"
    )
    return Relay(CHECKPOINT, database, read, destination)
