"""What the catalog published to RabbitMQ, taken off its queues as a test reads it."""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage, AbstractQueue

from infra.settings import ConsumerSettings, NotificationSettings, Settings
from tests.integration.conftest import embedded_settings
from tests.waiting import until


def rabbitmq_settings(tmp_path: Path, database_url: str, rabbitmq_url: str) -> Settings:
    """The catalog on `database_url`, its notifications sent to RabbitMQ at `rabbitmq_url`
    (an exchange and topic of this test's own); no consumer runs in the API."""
    suffix = uuid.uuid4().hex[:10]
    settings = embedded_settings(tmp_path, database_url)
    settings.notifications = NotificationSettings(
        transport_url=rabbitmq_url,
        exchange=f"glance-test-{suffix}",
        topics=f"notifications-test-{suffix}",
    )
    settings.consumers = ConsumerSettings(in_process="", idle_seconds=0.05)
    return settings


def amqp_url(rabbitmq_url: str) -> str:
    return "amqp" + rabbitmq_url.removeprefix("rabbit")


@dataclass(frozen=True)
class Received:
    """A message as it sat in its queue."""

    exchange: str
    routing_key: str
    properties: dict[str, Any]
    envelope: dict[str, Any]
    message: dict[str, Any]
    """The oslo message inside the envelope."""


PROPERTIES = ("content_type", "content_encoding", "delivery_mode", "priority", "headers")


def received(incoming: AbstractIncomingMessage) -> Received:
    envelope = json.loads(incoming.body)
    return Received(
        exchange=str(incoming.exchange),
        routing_key=str(incoming.routing_key),
        properties={name: getattr(incoming, name) for name in PROPERTIES},
        envelope=envelope,
        message=json.loads(envelope["oslo.message"]),
    )


@contextlib.asynccontextmanager
async def amqp_channel(rabbitmq_url: str) -> AsyncIterator[AbstractChannel]:
    connection = await aio_pika.connect(amqp_url(rabbitmq_url))
    try:
        yield await connection.channel()
    finally:
        await connection.close()


async def existing_queue(channel: AbstractChannel, name: str) -> AbstractQueue | None:
    """Queue `name` as it is now (its `declaration_result` counts its messages), or None while
    it does not exist: the relay makes it as it first publishes to it."""
    try:
        return await channel.get_queue(name)
    except aio_pika.exceptions.ChannelNotFoundEntity:
        await channel.reopen()  # the broker closes the channel that asked
        return None


async def taken_off(
    channel: AbstractChannel, queue_name: str, enough: Callable[[list[Received]], bool]
) -> list[Received]:
    """Messages taken off `queue_name` until `enough` of them have come (the queue may not
    exist yet when this starts)."""
    taken: list[Received] = []

    async def all_came() -> bool:
        queue = await existing_queue(channel, queue_name)
        if queue is None:
            return False
        while (incoming := await queue.get(no_ack=True, fail=False)) is not None:
            taken.append(received(incoming))
        return enough(taken)

    await until(all_came, lambda: f"enough messages on {queue_name}; came: {len(taken)}")
    return taken


def with_ids(ids: set[str]) -> Callable[[list[Received]], bool]:
    """Enough once every message id in `ids` has come."""
    return lambda taken: ids <= {r.message["message_id"] for r in taken}


async def durable(channel: AbstractChannel, exchange: str, queue: str) -> bool:
    """Whether the exchange and the queue survive a restart: declaring them durable is refused
    (and closes the channel) if they are not."""
    try:
        await channel.declare_exchange(exchange, aio_pika.ExchangeType.TOPIC, durable=True)
        await channel.declare_queue(queue, durable=True)
    except aio_pika.exceptions.ChannelPreconditionFailed:
        return False
    return True
