"""`/metrics`: this process's figures (or, under `--workers N`, every worker's, summed from
their files) and the service's state read from the database, in Prometheus's text format.

Where it is served is the operator's choice (`CATALOG_METRICS_*`): on a listener of its own
(`metrics_app`), or on the API's address to admins or to anyone (`add_metrics_route`)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterable

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from catalog.errors import Forbidden
from infra.db.database import Database
from infra.http.identity import metadata_of
from infra.http.keys import POLICY
from infra.metrics import METRICS_PATH
from infra.metrics.serving import ServingMetrics
from infra.metrics.state import ServiceState, families, state_within
from infra.metrics.workers import MULTIPROCESS_DIR
from infra.settings import MetricsSettings, Settings


class _State(Collector):
    def __init__(self, state: ServiceState | None) -> None:
        self.state = state

    def collect(self) -> Iterable[Metric]:
        return families(self.state)


class Exposition:
    """What `/metrics` answers in this process: its instruments, and where the state is read."""

    def __init__(self, database: Database, settings: Settings) -> None:
        self.database = database
        self.settings = settings
        self.shared_dir = os.environ.get(MULTIPROCESS_DIR)
        """Set by the parent of several workers: every worker's figures are in files there."""
        self.registry = None if self.shared_dir else CollectorRegistry()
        self.serving = ServingMetrics(self.registry)

    async def render(self) -> bytes:
        seconds = self.settings.metrics.scrape_timeout_seconds
        state = await state_within(self.database, self.settings, seconds)
        counted = await asyncio.to_thread(self._counted)
        read = CollectorRegistry()
        read.register(_State(state))
        return counted + generate_latest(read)

    def _counted(self) -> bytes:
        if self.registry is not None:
            return generate_latest(self.registry)
        summed = CollectorRegistry()
        MultiProcessCollector(summed, self.shared_dir)
        return generate_latest(summed)


EXPOSITION = web.AppKey("exposition", Exposition)


async def open_metrics(request: web.Request) -> web.Response:
    body = await request.app[EXPOSITION].render()
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


async def admin_metrics(request: web.Request) -> web.Response:
    if not request.app[POLICY].is_admin(metadata_of(request).actor):
        raise Forbidden("You are not authorized to read the metrics.")
    return await open_metrics(request)


def add_metrics_route(app: web.Application, settings: MetricsSettings) -> None:
    """`/metrics` on the API's address, unless it has a listener of its own."""
    if settings.bind is None:
        view = open_metrics if settings.access == "anyone" else admin_metrics
        app.router.add_get(METRICS_PATH, view, allow_head=False)


def metrics_app(exposition: Exposition) -> web.Application:
    """`/metrics` alone, for its own listener (`CATALOG_METRICS_BIND`)."""
    app = web.Application()
    app[EXPOSITION] = exposition
    app.router.add_get(METRICS_PATH, open_metrics, allow_head=False)
    return app
