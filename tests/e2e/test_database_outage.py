"""PostgreSQL stopped under a running `catalog serve`, then started again.

While it is down, requests answer 503 with `Retry-After` and a Glance-style body that tells
nothing of the driver, the log says so once, and the background work (heartbeat, relays,
consumers, scrubber) waits without a word. Once it is back, the log says so once, and requests
and the background work go on, without a restart of the catalog.

The test runs a PostgreSQL of its own (the project's script, with another state folder and
port), so stopping it leaves the rest of the suite's server alone.
"""

from __future__ import annotations

import asyncio
import io
import json
import threading
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import Message
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer
from glanceclient import exc as glance_errors

from tests.conftest import service_setting
from tests.e2e.conftest import StartServer, caller, glance_api, unfinished_upload
from tests.own_services import OwnService, own_service
from tests.serving import ANSWER_SECONDS
from tests.waiting import eventually, until

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]

IDENTITY = caller("proj-outage")
CLIENTS = 2
# With Kafka: the two relays and the scrubber's worker; without: the two consumers tailing the
# log and the scrubber's worker.
LOCKED_JOBS = 3
# What a client might see of the driver if it leaked into an answer.
DRIVER_WORDS = ("Traceback", "asyncpg", "sqlalchemy", "Errno", "Connect call", "postgres")
# Lines of the server's log that would say the outage was logged again or a job failed.
FAILURE_LINES = (
    "Traceback",
    "request_failed",
    "unhandled_error",
    "consumer_failed",
    "recovery_round_failed",
    "scrubber_round_failed",
    "relay_checkpoint_failed",
    "notifications_prune_failed",
)


@dataclass(frozen=True)
class Answer:
    method: str
    status: int
    headers: Message
    body: bytes


def ask(
    method: str, url: str, body: object | None = None, accept: str = "application/json"
) -> Answer:
    request = urllib.request.Request(
        url,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={**IDENTITY, "Content-Type": "application/json", "Accept": accept},
    )
    try:
        with urllib.request.urlopen(request, timeout=ANSWER_SECONDS) as response:
            return Answer(method, response.status, response.headers, response.read())
    except urllib.error.HTTPError as e:
        return Answer(method, e.code, e.headers, e.read())


class Clients:
    """Threads that create images and list them, one request after the other, until stopped;
    every answer is kept."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.answers: list[Answer] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run) for _ in range(CLIENTS)]

    def _run(self) -> None:
        while not self._stop.is_set():
            self.answers.append(ask("POST", f"{self.url}/v2/images", {"name": "traffic"}))
            self.answers.append(ask("GET", f"{self.url}/v2/images?limit=5"))

    def since(self, mark: int) -> list[Answer]:
        return self.answers[mark:]

    def __enter__(self) -> Clients:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()


def assert_unavailable(answer: Answer) -> None:
    """A 503 as Glance words one, with a Retry-After, and nothing of the driver in it."""
    assert answer.status == 503, answer
    assert int(answer.headers["Retry-After"]) > 0
    text = answer.body.decode()
    for word in DRIVER_WORDS:
        assert word not in text
    if answer.headers.get_content_type() == "application/json":
        body = json.loads(text)
        assert set(body) == {"message", "code", "title"}
        assert body["code"] == "503 Service Unavailable"
        assert body["title"] == "Service Unavailable"
        assert "not available" in body["message"]
    else:
        assert "<h1>503 Service Unavailable</h1>" in text


def query(url: str, sql: str, *args: object) -> Any:
    async def run() -> Any:
        conn = await asyncpg.connect(url)
        try:
            return await conn.fetchval(sql, *args)
        finally:
            await conn.close()

    return asyncio.run(run())


def keyed_on_topic(topic: str, key: str) -> bool:
    """Whether a record keyed `key` is on `topic` (both of the catalog's topics key by image)."""

    async def read() -> bool:
        reader = AIOKafkaConsumer(
            topic,
            bootstrap_servers=service_setting("CATALOG_TEST_KAFKA_BOOTSTRAP"),
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        await reader.start()
        try:

            async def found() -> bool:
                batches = await reader.getmany(timeout_ms=500)
                return any(r.key == key.encode() for rs in batches.values() for r in rs)

            return await until(found, f"a record of {key} on {topic}")
        finally:
            await reader.stop()

    return asyncio.run(read())


@pytest.fixture
def own_postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OwnService]:
    with own_service("pg", tmp_path_factory.mktemp("postgres")) as postgres:
        yield postgres


def kafka_settings(events: str, notifications: str) -> dict[str, str]:
    return {
        "CATALOG_KAFKA_BOOTSTRAP_SERVERS": service_setting("CATALOG_TEST_KAFKA_BOOTSTRAP"),
        "CATALOG_KAFKA_EVENTS_TOPIC": events,
        "CATALOG_NOTIFICATIONS_TOPIC": notifications,
    }


@pytest.mark.parametrize("kafka", [True, False], ids=["kafka", "log-tail"])
def test_a_stopped_database_is_a_503_and_everything_goes_on_when_it_is_back(
    own_postgres: OwnService, serve: StartServer, tmp_path: Path, kafka: bool
) -> None:
    """With Kafka: the relays and the consumers' Kafka groups; without: consumers tailing the
    log, each holding its lock."""
    database = own_postgres.settings["CATALOG_TEST_POSTGRES_URL"]
    suffix = uuid.uuid4().hex[:8]
    events, notifications = f"catalog.events.outage-{suffix}", f"catalog.notifications.{suffix}"
    url = serve(
        {
            "CATALOG_DATABASE_URL": database,
            "CATALOG_DELAYED_DELETE": "true",
            "CATALOG_UPLOAD_LEASE_SECONDS": "3",  # a heartbeat every second
            **(kafka_settings(events, notifications) if kafka else {}),
        }
    )
    log = tmp_path / "server.log"
    glance = glance_api(url, IDENTITY)
    cut = glance.images.create(name="cut", disk_format="raw", container_format="bare")

    with Clients(url) as clients, unfinished_upload(url, cut.id, IDENTITY) as upload:
        eventually(lambda: sum(a.status == 201 for a in clients.answers) >= 2, "writes succeed")
        eventually(lambda: glance.images.get(cut.id).status == "saving", "the upload started")

        down = len(clients.answers)
        own_postgres.down()
        upload.close()  # its end cannot be recorded now
        eventually(
            lambda: {a.method for a in clients.since(down) if a.status == 503} == {"GET", "POST"},
            "reads and writes answer 503",
        )
        assert_unavailable(ask("GET", f"{url}/v2/images/{uuid.uuid4()}"))
        assert_unavailable(ask("POST", f"{url}/v2/images", {"name": "x"}, accept="text/html"))
        with pytest.raises(glance_errors.HTTPServiceUnavailable):
            glance.images.create(name="while down")
        with pytest.raises(glance_errors.HTTPServiceUnavailable):
            list(glance.images.list())

        back = len(clients.answers)
        back_at = datetime.now(UTC)
        own_postgres.up()
        eventually(
            lambda: {a.status for a in clients.since(back)} >= {200, 201},
            "reads and writes succeed again",
        )

    assert {a.status for a in clients.answers} <= {200, 201, 503}
    for answer in clients.answers:
        if answer.status == 503:
            assert_unavailable(answer)

    # The upload cut while the database was down is failed by recovery, its bytes gone.
    eventually(lambda: glance.images.get(cut.id).status == "queued", "the cut upload is failed")
    assert list((tmp_path / "data" / "stores" / "file").iterdir()) == []

    # The background work goes on: heartbeat, relays, notifications consumer, scrubber.
    image = glance.images.create(name="after", disk_format="raw", container_format="bare")
    glance.images.upload(image.id, io.BytesIO(b"data"))
    glance.images.delete(image.id)
    heartbeat = "SELECT max(seen_at) FROM node"
    eventually(lambda: query(database, heartbeat) > back_at, "the heartbeat is renewed")
    # Each job's lock went with the old server; each holder takes its lock again.
    locks = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
    eventually(lambda: query(database, locks) == LOCKED_JOBS, "the jobs hold their locks again")
    notified = "SELECT count(*) FROM notification WHERE subject_id = $1"
    eventually(lambda: query(database, notified, image.id) > 0, "the image's changes are notified")
    if kafka:
        assert keyed_on_topic(events, image.id)
        assert keyed_on_topic(notifications, image.id)
    scrubbed = "SELECT count(*) FROM event WHERE stream_id = $1 AND event_type = 'image.scrubbed'"
    eventually(lambda: query(database, scrubbed, uuid.UUID(image.id)) == 1, "the data is scrubbed")

    lines = log.read_text().splitlines()
    assert len([line for line in lines if "database_unavailable" in line]) == 1
    assert len([line for line in lines if "database_available_again" in line]) == 1
    assert not [line for line in lines if any(word in line for word in FAILURE_LINES)]
