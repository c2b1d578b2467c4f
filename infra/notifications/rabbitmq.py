"""RabbitMQ as a relay's destination: notifications published as oslo.messaging's rabbit
driver publishes them, so a cloud's listeners (Ceilometer, Designate, an operator's tools)
receive the catalog's as they received Glance's.

- The control exchange (`CATALOG_NOTIFICATIONS_EXCHANGE`, Glance's `glance`), a topic
  exchange; each notification goes to routing key `<topic>.<priority>` for every topic in
  `CATALOG_NOTIFICATIONS_TOPICS`, with a queue of that name bound to it, as oslo's notifier
  makes one, so that notifications wait for listeners that have not started yet.
- The 2.0 envelope with the context in `_context_*` fields (oslo_wire.py), JSON, UTF-8,
  persistent (delivery mode 2).
- Publisher confirms: a batch counts as sent, and the relay's checkpoint moves past it, only
  once the broker has confirmed every message of it (for a durable queue: written to disk).
  Messages are mandatory: one the broker cannot route (its queue was deleted meanwhile) is an
  error too, and the relay connects again, which declares the queue again, and sends again.

An exchange or queue that exists is used as it is: in a cloud they were made by its services
with its settings (`amqp_durable_queues`, `rabbit_quorum_queue`), which a declaration with
other arguments would contradict (RabbitMQ refuses it, and closes the channel). Missing ones
are made with `CATALOG_NOTIFICATIONS_AMQP_DURABLE_QUEUES` and
`CATALOG_NOTIFICATIONS_RABBIT_QUORUM_QUEUE`, which should be the cloud's own settings.

The client is aio-pika: maintained, asyncio-native (the relay runs on the server's event loop,
with no thread per connection as kombu, oslo's own client, would need), and its publishes
await their confirms one by one, so a batch is handed over in order and awaited together.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractConnection, AbstractExchange
from aio_pika.exceptions import AMQPError, ChannelInvalidStateError, ChannelNotFoundEntity
from aiormq.abc import FieldTable

from infra.db.notification_outbox import OutboxNotification
from infra.notifications.oslo_wire import amqp_body, priority_topic
from infra.notifications.transport_urls import TransportUrl
from infra.relay import Destination, Publisher, acknowledged
from infra.settings import NotificationSettings

CONNECT_SECONDS = 10.0
OUTAGES = (AMQPError, OSError, ChannelInvalidStateError)
"""What a broker that is away, restarting or closing the connection raises."""


class Declarations:
    """The exchange, and each routing key's queue bound to it: used if they exist, made if
    not. On a channel of their own, which a missing entity closes (and which is then opened
    again), so that the publishing channel never closes under messages in flight."""

    def __init__(self, channel: AbstractChannel, settings: NotificationSettings) -> None:
        self._channel = channel
        self._exchange = settings.exchange
        self._durable = settings.amqp_durable_queues or settings.rabbit_quorum_queue
        quorum: FieldTable = {"x-queue-type": "quorum"}
        self._queue_arguments = quorum if settings.rabbit_quorum_queue else None
        self._bound: set[str] = set()

    async def exchange(self) -> None:
        try:
            await self._channel.get_exchange(self._exchange, ensure=True)
        except ChannelNotFoundEntity:
            await self._channel.reopen()
            await self._channel.declare_exchange(
                self._exchange, aio_pika.ExchangeType.TOPIC, durable=self._durable
            )

    async def queue(self, routing_key: str) -> None:
        if routing_key in self._bound:
            return
        try:
            queue = await self._channel.get_queue(routing_key, ensure=True)
        except ChannelNotFoundEntity:
            await self._channel.reopen()
            queue = await self._channel.declare_queue(
                routing_key, durable=self._durable, arguments=self._queue_arguments
            )
        await queue.bind(self._exchange, routing_key)
        self._bound.add(routing_key)


class AmqpPublisher:
    """Publishes each notification to `<topic>.<priority>` for every topic, in order."""

    def __init__(
        self, exchange: AbstractExchange, declarations: Declarations, topics: Sequence[str]
    ) -> None:
        self._exchange = exchange
        self._declarations = declarations
        self._topics = topics

    async def send(self, batch: Sequence[OutboxNotification]) -> asyncio.Future[None]:
        confirms = []
        for row in batch:
            body = amqp_body(row)
            for topic in self._topics:
                routing_key = priority_topic(topic, row.priority)
                await self._declarations.queue(routing_key)
                message = aio_pika.Message(
                    body,
                    content_type="application/json",
                    content_encoding="utf-8",
                    delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                    priority=0,
                    headers={},
                    # No AMQP message id of ours (kombu sets none either): the client tells
                    # which publish a returned message was by it, and one notification is
                    # published once per topic. The oslo message id is in the body.
                )
                # Each publish takes its turn on the channel as its task starts, and tasks
                # start in the order they are made: the broker gets them in outbox order.
                publish = self._exchange.publish(message, routing_key, mandatory=True)
                confirms.append(asyncio.ensure_future(publish))
        return acknowledged(confirms)


async def _connect(url: TransportUrl) -> AbstractConnection:
    """A connection to the first of the URL's hosts that accepts one."""
    failure: BaseException | None = None
    for host in url.hosts:
        try:
            return await aio_pika.connect(
                host=host.hostname,
                port=host.port,
                login=host.username or "guest",
                password=host.password or "guest",
                virtualhost=url.virtual_host or "/",
                timeout=CONNECT_SECONDS,
                client_properties={"connection_name": "catalog notifications"},
            )
        except OUTAGES as e:
            failure = e
    assert failure is not None  # a URL names at least one host
    raise failure


def rabbit_destination(
    url: TransportUrl, settings: NotificationSettings
) -> Destination[OutboxNotification]:
    topics = settings.topic_names()

    @contextlib.asynccontextmanager
    async def connect() -> AsyncIterator[Publisher[OutboxNotification]]:
        connection = await _connect(url)
        try:
            declarations = Declarations(
                await connection.channel(publisher_confirms=False), settings
            )
            await declarations.exchange()
            publishing = await connection.channel(publisher_confirms=True, on_return_raises=True)
            exchange = await publishing.get_exchange(settings.exchange, ensure=False)
            yield AmqpPublisher(exchange, declarations, topics)
        finally:
            with contextlib.suppress(*OUTAGES):
                await connection.close()

    describe = f"RabbitMQ exchange {settings.exchange} at {url.shown}"
    return Destination(describe, connect, OUTAGES)
