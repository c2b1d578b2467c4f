"""The figures each server process counts as it serves: requests by route, method and status,
their latency, image bytes in and out, uploads in progress.

Counting costs a dictionary lookup and an uncontended lock per figure: the event loop is the
only thread that counts. Under `--workers N` each process writes its figures to a memory-mapped
file of its own (prometheus_client's multiprocess mode, `workers.py`)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterator

from aiohttp import web
from aiohttp.typedefs import Handler
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800)
"""Up to half an hour: uploads and downloads of large images take minutes."""
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "unmatched"
"""The route of a request no route took (404, 405): raw paths would be unbounded labels."""
CLIENT_GONE = "499"
"""The status of a request whose client went away before the answer (nginx's code)."""


class ServingMetrics:
    """One process's instruments; `registry` None under multiprocess mode (the files are the
    registry there)."""

    def __init__(self, registry: CollectorRegistry | None) -> None:
        self.requests = Counter(
            "catalog_http_requests",
            "HTTP requests answered, by route template, method and status.",
            ["route", "method", "status"],
            registry=registry,
        )
        self.duration = Histogram(
            "catalog_http_request_duration_seconds",
            "Time from a request's arrival to the end of its answer, by route and method.",
            ["route", "method"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.bytes_uploaded = Counter(
            "catalog_image_bytes_uploaded",
            "Image data received by uploads and staging (PUT .../file, .../stage).",
            registry=registry,
        )
        self.bytes_downloaded = Counter(
            "catalog_image_bytes_downloaded",
            "Image data sent by downloads (GET .../file).",
            registry=registry,
        )
        self.uploads_in_progress = Gauge(
            "catalog_image_uploads_in_progress",
            "Uploads and staging requests receiving data now.",
            multiprocess_mode="livesum",
            registry=registry,
        )

    @contextlib.contextmanager
    def upload(self, received: Callable[[], int]) -> Iterator[None]:
        """While an upload receives its body: in progress, and its bytes (`received()` once
        it ends) counted however it ends."""
        self.uploads_in_progress.inc()
        try:
            yield
        finally:
            self.uploads_in_progress.dec()
            self.bytes_uploaded.inc(received())


SERVING_METRICS = web.AppKey("serving_metrics", ServingMetrics)


def route_of(request: web.Request) -> str:
    """The template of the route that took `request` (`/{version}/images/{image_id}`)."""
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else UNMATCHED


@web.middleware
async def metrics_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Outermost: counts every answer, those the other middlewares give included."""
    started = time.perf_counter()
    status = "500"
    try:
        response = await handler(request)
        status = str(response.status)
        return response
    except web.HTTPException as e:
        status = str(e.status)
        raise
    except asyncio.CancelledError:
        status = CLIENT_GONE
        raise
    finally:
        metrics = request.app[SERVING_METRICS]
        route = route_of(request)
        method = request.method if request.method in METHODS else "other"
        metrics.requests.labels(route, method, status).inc()
        metrics.duration.labels(route, method).observe(time.perf_counter() - started)
