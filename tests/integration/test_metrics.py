"""`/metrics`: what the server counts by route template, the image bytes, uploads in progress,
and the service's state read from the database when scraped (lags, the scrubber's queue, the
last rebuild), with an answer even when the database does not give one.
(tests/e2e/test_metrics_workers.py: several workers, and a listener of its own.)"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from infra import bootstrap
from infra.db.database import open_database
from infra.metrics.exposition import Exposition
from infra.projection_rebuild import rebuild_projections
from infra.rebuild_progress import recorded
from infra.settings import ApiSettings, KafkaSettings, MetricsSettings, Settings
from tests.conftest import service_setting
from tests.integration.conftest import (
    ADMIN,
    JSON,
    PROJECT_A,
    ApiBuilder,
    ApiClient,
    created_image_id,
    embedded_settings,
    uploaded_image_id,
)
from tests.metrics_text import families_of, sample
from tests.waiting import until

OCTETS = {**PROJECT_A, "Content-Type": "application/octet-stream"}
IMAGE_ROUTE = "/{version}/images/{image_id}"


async def scrape(api: ApiClient) -> str:
    response = await api.get("/metrics", headers=ADMIN)
    assert response.status == 200, await response.text()
    assert response.content_type == "text/plain"
    return await response.text()


async def test_requests_are_counted_by_route_template_method_and_status(api: ApiClient) -> None:
    first = await created_image_id(api)
    second = await created_image_id(api)
    for image_id in (first, second):
        assert (await api.get(f"/v2/images/{image_id}", headers=PROJECT_A)).status == 200
    assert (await api.get("/v2.9/images/no-such-image", headers=PROJECT_A)).status == 404
    # Glance's answer to a path under no version: the versions document.
    assert (await api.get("/nowhere/at/all", headers=PROJECT_A)).status == 300

    text = await scrape(api)
    ok = sample(text, "catalog_http_requests_total", route=IMAGE_ROUTE, method="GET", status="200")
    missing = sample(text, "catalog_http_requests_total", route=IMAGE_ROUTE, status="404")
    created = sample(text, "catalog_http_requests_total", route="/{version}/images", status="201")
    assert (ok, missing, created) == (2, 1, 2)
    assert sample(text, "catalog_http_requests_total", route="unmatched", status="300") == 1
    assert "no-such-image" not in text  # raw paths never
    assert "/nowhere" not in text
    count = "catalog_http_request_duration_seconds_count"
    assert sample(text, count, route=IMAGE_ROUTE, method="GET") == 3
    assert sample(text, "catalog_http_request_duration_seconds_bucket", le="+Inf") is not None


async def test_image_bytes_in_and_out_are_counted(api: ApiClient) -> None:
    image_id = await uploaded_image_id(api, b"x" * 1000)
    download = await api.get(f"/v2/images/{image_id}/file", headers=PROJECT_A)
    assert await download.read() == b"x" * 1000
    ranged = {**PROJECT_A, "Range": "bytes=0-99"}
    assert len(await (await api.get(f"/v2/images/{image_id}/file", headers=ranged)).read()) == 100

    text = await scrape(api)
    assert sample(text, "catalog_image_bytes_uploaded_total") == 1000
    assert sample(text, "catalog_image_bytes_downloaded_total") == 1100
    assert sample(text, "catalog_image_uploads_in_progress") == 0


async def test_an_upload_is_in_progress_while_its_data_comes(api: ApiClient) -> None:
    image_id = await created_image_id(api)
    gate = asyncio.Event()

    async def body() -> AsyncIterator[bytes]:
        yield b"a" * 4096
        await gate.wait()
        yield b"b" * 4096

    put = asyncio.create_task(api.put(f"/v2/images/{image_id}/file", data=body(), headers=OCTETS))

    async def one_in_progress() -> bool:
        return sample(await scrape(api), "catalog_image_uploads_in_progress") == 1

    await until(one_in_progress, "the held upload shows as in progress")
    gate.set()
    assert (await put).status == 204
    text = await scrape(api)
    assert sample(text, "catalog_image_uploads_in_progress") == 0
    assert sample(text, "catalog_image_bytes_uploaded_total") == 8192


async def test_the_log_head_consumer_lag_and_scrubber_queue_are_read_when_scraped(
    api: ApiClient,
) -> None:
    await created_image_id(api)
    text = await scrape(api)
    assert sample(text, "catalog_state_up") == 1
    assert sample(text, "catalog_log_head_position") == 1
    # No consumer runs beside this test's app: the event waits for each.
    for consumer in ("notifications", "scrubber"):
        assert sample(text, "catalog_consumer_lag_events", consumer=consumer) == 1
    assert sample(text, "catalog_scrubber_queue_images") == 0
    assert sample(text, "catalog_scrubber_due_images") == 0
    assert "catalog_rebuild_running" not in families_of(text)  # no rebuild ever ran here


@pytest.mark.postgres
@pytest.mark.kafka
async def test_relay_lag_is_in_events_and_seconds_per_relay(
    tmp_path: Path, postgres_url: str, api_for: ApiBuilder
) -> None:
    settings = embedded_settings(tmp_path, postgres_url)
    settings.kafka = KafkaSettings(
        bootstrap_servers=service_setting("CATALOG_TEST_KAFKA_BOOTSTRAP"),
        events_topic=f"catalog.events.test-{tmp_path.name[-20:]}",
    )
    api, _ = await api_for(settings)
    await created_image_id(api)
    await created_image_id(api)

    text = await scrape(api)
    # Nothing relays beside this test's app: both events wait for the log's relay.
    assert sample(text, "catalog_relay_lag_events", relay="relay.kafka") == 2
    lag = sample(text, "catalog_relay_lag_seconds", relay="relay.kafka")
    assert lag is not None
    assert lag >= 0
    notifications = sample(text, "catalog_relay_lag_events", relay="relay.notifications")
    assert notifications == 0  # the notifications consumer has not written any yet


async def test_a_rebuild_shows_its_progress(api: ApiClient, container: bootstrap.Container) -> None:
    for _ in range(3):
        await created_image_id(api)

    class Quiet:
        def phase(self, name: str) -> None:
            pass

        def advance(self, replayed: int, total: int) -> None:
            pass

    async with recorded(container.database, Quiet()) as progress:
        # Recorded as it starts: a scrape meanwhile sees it running.
        assert sample(await scrape(api), "catalog_rebuild_running") == 1
        await rebuild_projections(container.log, progress)

    text = await scrape(api)
    assert sample(text, "catalog_rebuild_running") == 0
    assert sample(text, "catalog_rebuild_events_replayed") == 3
    assert sample(text, "catalog_rebuild_events_total") == 3


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A loopback port that accepts connections and never answers: a database that hangs."""
    with socket.create_server(("127.0.0.1", 0)) as listening:
        yield listening.getsockname()[1]


@pytest.mark.parametrize("answer", ["refuses", "hangs"])
async def test_a_scrape_without_the_database_answers_without_its_figures(
    tmp_path: Path, silent_port: int, answer: str
) -> None:
    if answer == "refuses":
        url = f"sqlite:///{tmp_path / 'missing' / 'catalog.db'}"
    else:
        url = f"postgresql://catalog:secret@127.0.0.1:{silent_port}/catalog"
    settings = Settings(metrics=MetricsSettings(scrape_timeout_seconds=0.5))
    database = open_database(url)
    try:
        text = (await Exposition(database, settings).render()).decode()
    finally:
        await database.close()
    assert sample(text, "catalog_state_up") == 0
    assert "catalog_log_head_position" not in families_of(text)
    assert "catalog_http_requests" in families_of(text)


async def test_metrics_are_for_admins_by_default(api: ApiClient) -> None:
    refused = await api.get("/metrics", headers={**PROJECT_A, **JSON})
    assert refused.status == 403
    assert "not authorized" in (await refused.json())["message"]
    assert (await api.get("/metrics", headers=ADMIN)).status == 200


@pytest.mark.parametrize(
    ("metrics", "status"),
    # With a listener of its own, the API's address has no /metrics: a path it does not
    # serve, answered with the versions document as any other.
    [(MetricsSettings(access="anyone"), 200), (MetricsSettings(bind="127.0.0.1:1"), 300)],
)
async def test_metrics_for_anyone_or_only_on_their_own_listener(
    tmp_path: Path, api_for: ApiBuilder, metrics: MetricsSettings, status: int
) -> None:
    settings = embedded_settings(tmp_path, api=ApiSettings(auth_mode="trusted-headers"))
    settings.metrics = metrics
    api, _ = await api_for(settings)
    assert (await api.get("/metrics")).status == status
