"""Transport URLs read as oslo.messaging reads them, and notifications put on the wire as its
drivers put them."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime

import pytest

from infra.db.notification_outbox import OutboxNotification
from infra.notifications.oslo_wire import amqp_body, kafka_record, priority_topic
from infra.notifications.routes import DRIVERS
from infra.notifications.transport_urls import (
    SCHEMES,
    TransportHost,
    parse_transport_url,
    parse_transport_urls,
)


def test_a_rabbit_url_of_a_cluster_with_a_virtual_host() -> None:
    url = parse_transport_url("rabbit://glance:p%40ss@mq1:5671,glance:p%40ss@[fd00::2]/openstack")
    assert url.scheme == "rabbit"
    assert url.hosts == (
        TransportHost("mq1", 5671, "glance", "p@ss"),
        TransportHost("fd00::2", 5672, "glance", "p@ss"),
    )
    assert url.virtual_host == "openstack"
    assert url.shown == "rabbit://mq1:5671,[fd00::2]:5672/openstack"


def test_defaults_of_a_bare_rabbit_url() -> None:
    url = parse_transport_url("rabbit://mq1/")
    assert url.hosts == (TransportHost("mq1", 5672),)
    assert url.virtual_host == ""


def test_several_transports_at_once_separated_by_white_space() -> None:
    urls = parse_transport_urls(" rabbit://u:p@mq1:5672/\n kafka://k1:9092,k2/ noop ")
    assert [url.scheme for url in urls] == ["rabbit", "kafka", "noop"]
    assert [host.address for host in urls[1].hosts] == ["k1:9092", "k2:9092"]
    assert parse_transport_urls("") == []


def test_a_transports_place_keeps_its_name_through_new_credentials() -> None:
    old = parse_transport_url("rabbit://glance:old@mq1:5672/")
    new = parse_transport_url("rabbit://glance:new@mq1:5672/")
    elsewhere = parse_transport_url("rabbit://glance:new@mq2:5672/")
    assert old.key == new.key != elsewhere.key
    assert old.key.startswith("rabbit.")


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("kafka://user:s3cret@k1:9092/", "'kafka://***@k1:9092/': Kafka is reached without"),
        ("kafka://k1:9092/vhost", "'kafka://k1:9092/vhost': Kafka has no virtual hosts"),
        ("rabbit://u:s3cret@/", "'rabbit://***@/': a host is missing"),
        ("rabbit://u:s3cret@mq1:port/", "'rabbit://***@mq1:port/': port 'port' is not a number"),
    ],
)
def test_a_url_that_cannot_be_used_is_refused_without_its_password(text: str, said: str) -> None:
    with pytest.raises(ValueError, match=re.escape(said)) as refused:
        parse_transport_url(text)
    assert "s3cret" not in str(refused.value)


def test_every_transport_has_a_driver() -> None:
    assert set(DRIVERS) == set(SCHEMES)


MESSAGE = {
    "message_id": "8d1c1a52-3d7e-4c1b-9b0e-2f0f7f1d7a10",
    "publisher_id": "image.localhost",
    "event_type": "image.upload",
    "priority": "ERROR",
    "payload": "Failed to upload image data for image img-1: short",
    "timestamp": "2026-01-02 03:04:05.000006",
    "_context": {"request_id": "req-1", "user_id": "u1", "roles": ["member"]},
}
ROW = OutboxNotification(
    position=7,
    commit_order=3,
    message_id=uuid.UUID("8d1c1a52-3d7e-4c1b-9b0e-2f0f7f1d7a10"),
    subject_id="img-1",
    event_type="image.upload",
    priority="ERROR",
    message=json.dumps(MESSAGE),
    created_at=datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC),
)


def test_rabbit_messages_carry_the_context_as_the_rabbit_driver_does() -> None:
    envelope = json.loads(amqp_body(ROW))
    assert envelope["oslo.version"] == "2.0"
    message = json.loads(envelope["oslo.message"])
    assert message == {
        **{key: value for key, value in MESSAGE.items() if key != "_context"},
        "_context_request_id": "req-1",
        "_context_user_id": "u1",
        "_context_roles": ["member"],
        "_unique_id": "8d1c1a523d7e4c1b9b0e2f0f7f1d7a10",
    }


def test_kafka_records_carry_the_context_as_the_kafka_driver_does() -> None:
    record = kafka_record(ROW)
    envelope = json.loads(record.value)
    # The message's text as the outbox keeps it, key order and all.
    assert envelope["oslo.message"] == ROW.message
    assert json.loads(envelope["oslo.message"]) == MESSAGE
    assert record.key == b"img-1"


def test_each_priority_has_its_topic_in_lower_case() -> None:
    assert priority_topic("notifications", "ERROR") == "notifications.error"
