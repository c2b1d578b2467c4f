"""oslo.messaging's own notification listener on the real RabbitMQ hears what Glance sends for
an import's task (`task.*`) and a namespace's creation (`metadef_namespace.create`), both
driven through python-glanceclient against a `catalog serve`."""

from __future__ import annotations

import io
import uuid
from typing import Any

import pytest

from tests.conftest import service_setting
from tests.e2e.conftest import ADMIN, PROJECT_A, StartServer, glance_api
from tests.e2e.oslo_listening import Listener, oslo_listener
from tests.waiting import eventually

pytestmark = pytest.mark.rabbitmq

TASK_FIELDS = {
    "id", "type", "status", "result", "owner", "message", "expires_at", "created_at",
    "updated_at", "deleted", "deleted_at",
}  # fmt: skip
TASK_LIFE = ["task.create", "task.processing", "task.success", "task.run"]


def heard(listener: Listener, event_types: set[str]) -> list[dict[str, Any]]:
    """What the listener was given once it was given each of `event_types`."""

    def all_of_them() -> list[dict[str, Any]]:
        said = listener.distinct()
        return said if event_types <= {n["event_type"] for n in said} else []

    return eventually(
        all_of_them, lambda: f"{sorted(event_types)} heard; the listener said:\n{listener.said()}"
    )


def test_an_import_and_a_namespace_are_heard_on_rabbitmq(serve: StartServer) -> None:
    rabbitmq = service_setting("CATALOG_TEST_RABBITMQ_URL")
    suffix = uuid.uuid4().hex[:10]
    exchange, topic = f"glance-e2e-{suffix}", f"notifications-e2e-{suffix}"
    with oslo_listener(rabbitmq, exchange, topic) as listener:
        url = serve(
            {
                "CATALOG_NOTIFICATIONS_TRANSPORT_URL": rabbitmq,
                "CATALOG_NOTIFICATIONS_EXCHANGE": exchange,
                "CATALOG_NOTIFICATIONS_TOPICS": topic,
            }
        )
        client = glance_api(url, PROJECT_A)
        image = client.images.create(name="imported", disk_format="raw", container_format="bare")
        client.images.stage(image.id, io.BytesIO(b"imported bytes" * 1000))
        client.images.image_import(image.id, method="glance-direct")
        glance_api(url, ADMIN).metadefs_namespace.create(namespace=f"OS::E2E::{suffix}")
        said = heard(listener, {*TASK_LIFE, "metadef_namespace.create"})

    tasks = [n for n in said if n["event_type"].startswith("task.")]
    assert [n["event_type"] for n in tasks] == TASK_LIFE
    for task in tasks:
        assert task["priority"] == "info"
        assert task["publisher_id"] == "image.localhost"
        assert set(task["payload"]) == TASK_FIELDS
        assert task["payload"]["type"] == "api_image_import"
        assert task["payload"]["owner"] == PROJECT_A["X-Project-Id"]
        assert task["ctxt"]["user_id"] == PROJECT_A["X-User-Id"]
    assert tasks[2]["payload"]["status"] == "success"
    [namespace] = [n for n in said if n["event_type"] == "metadef_namespace.create"]
    assert namespace["payload"]["namespace"] == f"OS::E2E::{suffix}"
    assert namespace["payload"]["owner"] == ADMIN["X-Project-Id"]
    assert namespace["ctxt"]["user_id"] == ADMIN["X-User-Id"]
