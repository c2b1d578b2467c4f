"""The relay: publishes every committed event of the log to Kafka, in log order, at least once.

The log is the outbox: request handlers never publish. The relay reads the committed log from
its checkpoint (a reader that never skips an event), sends each event keyed by image id with an
idempotent producer (`acks=all`), waits until the broker has acknowledged the whole batch, and
only then moves its checkpoint. A crash between the two re-sends a batch: consumers drop
duplicates by (stream, version). On PostgreSQL only one relay runs at a time, whoever holds an
advisory lock; the others wait to take over.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import structlog
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError
from sqlalchemy import text

from infra.db.checkpoints import load_checkpoint, save_checkpoint
from infra.db.database import PostgresDatabase
from infra.db.event_log import SqlEventLog, cursor_after
from infra.kafka.cloudevents import encode_message
from infra.settings import KafkaSettings

log = structlog.get_logger(__name__)

CHECKPOINT = "relay.kafka"
RELAY_LOCK_KEY = 0x636174616C6F67  # "catalog": one relay per database
PARTITIONS = 8
RETRY_DELAY_MAX = 5.0


async def ensure_topic(settings: KafkaSettings, topic: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.bootstrap_servers)
    await admin.start()
    try:
        await admin.create_topics(
            [NewTopic(name=topic, num_partitions=PARTITIONS, replication_factor=1)]
        )
    except TopicAlreadyExistsError:
        pass
    finally:
        await admin.close()


@contextlib.asynccontextmanager
async def relay_leadership(event_log: SqlEventLog) -> AsyncIterator[None]:
    """Hold the relay lock for as long as the block runs (PostgreSQL; SQLite has one process)."""
    database = event_log.database
    if not isinstance(database, PostgresDatabase):
        yield
        return
    async with database.async_engine.connect() as conn:
        while not (
            await conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": RELAY_LOCK_KEY})
        ).scalar_one():
            await conn.commit()
            await asyncio.sleep(1.0)
        await conn.commit()
        try:
            yield
        finally:
            await conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": RELAY_LOCK_KEY})
            await conn.commit()


async def publish_batch(
    event_log: SqlEventLog,
    producer: AIOKafkaProducer,
    topic: str,
    batch_size: int,
    name: str = CHECKPOINT,
) -> int:
    """Send the next batch after the checkpoint; returns how many events went out."""
    cursor = await event_log.database.read(load_checkpoint, name)
    batch = await event_log.read(cursor, batch_size)
    if not batch:
        return 0
    sends = []
    for recorded in batch:
        key, value = encode_message(recorded)
        sends.append(await producer.send(topic, value=value, key=key))
    await asyncio.gather(*sends)
    await event_log.database.write(save_checkpoint, name, cursor_after(batch, cursor))
    return len(batch)


async def run_relay(event_log: SqlEventLog, settings: KafkaSettings) -> None:
    """Relay until cancelled, riding out broker outages (the log keeps everything meanwhile)."""
    topic = settings.events_topic
    async with relay_leadership(event_log):
        log.info("relay_started", topic=topic)
        delay = 0.1
        while True:
            producer = AIOKafkaProducer(
                bootstrap_servers=settings.bootstrap_servers,
                enable_idempotence=True,
                acks="all",
                linger_ms=2,
            )
            try:
                await ensure_topic(settings, topic)
                await producer.start()
                delay = 0.1
                while True:
                    sent = await publish_batch(
                        event_log, producer, topic, settings.relay_batch_size
                    )
                    if sent == 0:
                        await asyncio.sleep(settings.relay_idle_seconds)
            except KafkaError as e:
                log.warning("relay_broker_unavailable", error=str(e), retry_in=delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, RETRY_DELAY_MAX)
            finally:
                with contextlib.suppress(KafkaError):
                    await producer.stop()
