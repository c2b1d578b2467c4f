"""Notifications on the wire as oslo.messaging's drivers put them there.

The outbox keeps each notification as the message oslo.messaging's notifier builds
(`message_id`, `publisher_id`, `event_type`, `priority`, `payload`, `timestamp`) with the
request's context beside it in `_context` (infra/notifications/oslo_messages.py). Each driver
wraps it in the 2.0 envelope (`{"oslo.version": "2.0", "oslo.message": "<the message as
JSON>"}`) and carries the context its own way:

- Kafka (`impl_kafka`): the context as one `_context` object inside the message;
- RabbitMQ (`impl_rabbit`, through `amqpdriver`): each context field as a `_context_<field>`
  field of the message, and a `_unique_id` by which oslo's listeners recognise a message they
  have just received.

Both send one priority to a topic of its own: `<topic>.<priority>`, the priority in lower case
(`notifications.info`, `notifications.error`), as oslo.messaging's notifier does.
"""

from __future__ import annotations

import json

from infra.db.notification_outbox import OutboxNotification
from infra.kafka.relay import KafkaRecord

VERSION = "2.0"


def priority_topic(topic: str, priority: str) -> str:
    return f"{topic}.{priority.lower()}"


def envelope(message_json: str) -> dict[str, str]:
    return {"oslo.version": VERSION, "oslo.message": message_json}


def kafka_record(row: OutboxNotification) -> KafkaRecord:
    """The record oslo.messaging's Kafka driver sends, keyed by what it is about (an image, a
    task, a namespace), so that one's notifications keep their order; the headers let anyone
    route by type or priority without parsing the body."""
    return KafkaRecord(
        key=row.subject_id.encode(),
        # The message as the outbox keeps it: its JSON text, made once, never parsed here.
        value=json.dumps(envelope(row.message), separators=(",", ":")).encode(),
        headers=[
            ("event_type", row.event_type.encode()),
            ("message_id", str(row.message_id).encode()),
            ("priority", row.priority.encode()),
        ],
    )


def amqp_body(row: OutboxNotification) -> bytes:
    """The body oslo.messaging's rabbit driver publishes, as kombu serialises it (JSON).

    Its `_unique_id` derives from the message id, so a message sent again (after a broker
    outage) is the same to oslo's listeners, which drop a copy of one they have just seen.
    """
    message = json.loads(row.message)
    context = message.pop("_context")
    message.update({f"_context_{key}": value for key, value in context.items()})
    message["_unique_id"] = row.message_id.hex
    return json.dumps(envelope(json.dumps(message))).encode()
