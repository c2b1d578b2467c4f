"""The `catalog` command: serve the API, migrate, rebuild views, relay the log, run consumers,
restore an image pending deletion, show an image's history.

Settings come from `CATALOG_*` variables (`catalog COMMAND --help` lists those it reads). A
mistake in them, a database out of reach or an address already taken is one line on standard
error and exit status 1 (`OperatorError`), never a traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import sys
import uuid
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

import structlog
from aiohttp import web

from infra import bootstrap
from infra.allocator import keep_freed_memory
from infra.bootstrap import Container
from infra.cli_parser import parser
from infra.heap import freeze_startup_heap
from infra.http.app import create_app
from infra.http.guarded_site import serve_api
from infra.logging import configure
from infra.metrics.exposition import EXPOSITION, metrics_app
from infra.metrics.workers import shared_between_workers
from infra.open_files import connection_limit
from infra.operator_errors import OperatorError, SettingsError
from infra.policy_files import load_policy
from infra.recovery import run_heartbeat_and_recovery
from infra.settings import Settings, host_and_port, read_settings
from infra.task_expiry import run_task_expiry
from infra.workers import listening_socket, supervise

log = structlog.get_logger("catalog")


async def _until_stopped() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


def _check_serving(settings: Settings, workers: int) -> None:
    """What `serve` alone needs of the settings, before it binds or opens anything."""
    from infra.consumers.registry import CONSUMERS

    unknown = [name for name in settings.consumers.names() if name not in CONSUMERS]
    if unknown:
        raise SettingsError(
            f"CATALOG_CONSUMER_IN_PROCESS: no consumer named {', '.join(unknown)}"
            f" (there are: {', '.join(sorted(CONSUMERS))})"
        )
    if workers > 1 and not settings.database_url.startswith("postgres"):
        # SQLite has one writer: several processes would queue on its file lock.
        raise SettingsError(
            "CATALOG_API_WORKERS, --workers: more than 1 needs PostgreSQL (CATALOG_DATABASE_URL)"
        )


async def serve(
    settings: Settings,
    sock: socket.socket,
    *,
    metrics_sock: socket.socket | None = None,
    migrate: bool = True,
    serving: Callable[[], None] = lambda: None,
) -> None:
    """Serve on the listening `sock` (and `/metrics` alone on `metrics_sock`, if given) until
    SIGTERM or SIGINT; `serving()` once it answers."""
    from infra.consumers.registry import run_job

    container = await bootstrap.build(settings, migrate=migrate)
    background: list[asyncio.Task[None]] = [
        asyncio.create_task(
            run_heartbeat_and_recovery(container, settings.core.upload_lease_seconds)
        ),
        asyncio.create_task(run_task_expiry(container)),
    ]
    if settings.kafka.bootstrap_servers:
        from infra.kafka.relay import event_relay
        from infra.relay import run_relay

        relay = event_relay(container.log, settings.kafka)
        background.append(
            asyncio.create_task(run_relay(relay, settings.kafka, container.log.appended))
        )
    for name in settings.consumers.names():
        background.append(asyncio.create_task(run_job(container, name)))
    app = create_app(container)
    runners: list[web.AppRunner] = []
    try:
        max_connections = connection_limit(settings.api.max_connections)
        runners.append(await serve_api(app, sock, settings.api, max_connections=max_connections))
        if metrics_sock is not None:
            runners.append(web.AppRunner(metrics_app(app[EXPOSITION]), access_log=None))
            await runners[-1].setup()
            await web.SockSite(runners[-1], metrics_sock).start()
        if settings.api.auth_mode == "noauth":
            log.warning(
                "noauth_mode",
                detail="requests without identity headers act as project "
                f"{settings.api.default_project!r} with the admin, member and reader roles",
            )
        host, port = sock.getsockname()[:2]
        log.info(
            "serving",
            url=f"http://{host}:{port}",
            database=container.database.display_url,
            default_store=settings.stores.default_name,
        )
        freeze_startup_heap()
        keep_freed_memory()
        serving()
        await _until_stopped()
    finally:
        for task in background:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for runner in reversed(runners):
            await runner.cleanup()
        await container.close()


def serve_command(settings: Settings, bind: str, workers: int) -> None:
    """`catalog serve`: the address is bound before the database is opened or migrated, so a
    busy port is found at once; with several workers the parent migrates, once."""
    _check_serving(settings, workers)
    load_policy(settings.policy)  # a file the server could not start with stops it first
    sock = listening_socket(*host_and_port(bind))
    metrics_sock = None
    if settings.metrics.bind is not None:
        metrics_address = host_and_port(settings.metrics.bind)
        metrics_sock = listening_socket(*metrics_address, named="CATALOG_METRICS_BIND")
    if workers == 1:
        asyncio.run(serve(settings, sock, metrics_sock=metrics_sock))
        return
    asyncio.run(migrate(settings, quiet=True))
    with shared_between_workers() as worker_died:
        supervise(
            workers,
            lambda serving: asyncio.run(
                serve(settings, sock, metrics_sock=metrics_sock, migrate=False, serving=serving)
            ),
            on_death=worker_died,
        )


async def migrate(settings: Settings, *, quiet: bool = False) -> None:
    database = await bootstrap.open_database_of(settings)
    await database.close()
    if not quiet:
        print("database schema is up to date")


async def rebuild(settings: Settings) -> None:
    from infra.projection_rebuild import RebuildError, rebuild_projections
    from infra.rebuild_progress import ProgressDisplay, recorded

    container = await bootstrap.build(settings)
    try:
        async with recorded(container.database, ProgressDisplay(sys.stderr)) as progress:
            result = await rebuild_projections(container.log, progress)
    except RebuildError as e:
        raise OperatorError(f"rebuild: {e}") from e
    finally:
        await container.close()
    print(result.summary())


async def _run_until_stopped(
    settings: Settings, work: Callable[[Container], Coroutine[Any, Any, None]]
) -> None:
    container = await bootstrap.build(settings)
    freeze_startup_heap()
    task = asyncio.create_task(work(container))
    stopped = asyncio.create_task(_until_stopped())
    try:
        await asyncio.wait({task, stopped}, return_when=asyncio.FIRST_COMPLETED)
        if task.done():
            task.result()  # work that ends by itself has failed: say why
    finally:
        for running in (task, stopped):
            running.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await running
        await container.close()


async def relay(settings: Settings) -> None:
    from infra.kafka.relay import event_relay
    from infra.relay import run_relay

    if not settings.kafka.bootstrap_servers:
        raise SettingsError("CATALOG_KAFKA_BOOTSTRAP_SERVERS: must be set to relay the log")
    await _run_until_stopped(
        settings,
        lambda container: run_relay(event_relay(container.log, settings.kafka), settings.kafka),
    )


async def consume(settings: Settings, name: str) -> None:
    from infra.consumers.registry import CONSUMERS, run_job

    if name not in CONSUMERS:
        raise OperatorError(
            f"no consumer named {name!r}; there are: {', '.join(sorted(CONSUMERS))}"
        )
    await _run_until_stopped(settings, lambda container: run_job(container, name))


async def consumers_status(settings: Settings) -> None:
    from infra.consumers.status import consumer_status

    container = await bootstrap.build(settings, migrate=False)
    try:
        for line in await consumer_status(container):
            print(line)
    finally:
        await container.close()


async def restore(settings: Settings, image_id: str) -> None:
    """Undo the delayed delete of an image, as the system (Glance: `glance-scrubber --restore`)."""
    from catalog.commands.restore_image import RestoreImage
    from catalog.errors import CatalogError
    from catalog.events import EventMetadata
    from catalog.identity import SYSTEM_ACTOR

    try:
        command = RestoreImage(image_id=uuid.UUID(image_id))
    except ValueError as e:
        raise OperatorError(f"cannot restore {image_id!r}: not an image id") from e
    metadata = EventMetadata(actor=SYSTEM_ACTOR, request_id=f"req-cli-{uuid.uuid4()}")
    container = await bootstrap.build(settings, migrate=False)
    try:
        status = await container.bus.dispatch(command, metadata)
    except CatalogError as e:
        raise OperatorError(f"cannot restore image {image_id}: {e.message}") from e
    finally:
        await container.close()
    print(f"image {image_id} restored, status {status}")


async def history(settings: Settings, image_id: str, downloads: bool) -> None:
    """An image's timeline, or a task's (whose id names no image)."""
    from catalog.errors import NotFound
    from infra.db.audit_log import SqlAuditLog
    from infra.history_timeline import timeline
    from infra.task_timeline import task_timeline

    try:
        stream_id = uuid.UUID(image_id)
    except ValueError:
        raise OperatorError(f"history: {image_id!r} is not an image id") from None
    container = await bootstrap.build(settings, migrate=False)
    log = SqlAuditLog(container.log, container.bus.context.images)
    try:
        try:
            async for line in timeline(log, stream_id, downloads=downloads):
                print(line)
        except NotFound:
            async for line in task_timeline(log, stream_id):
                print(line)
    except NotFound:
        raise OperatorError(f"history: no image or task {image_id} in the log") from None
    finally:
        await container.close()


async def load_metadefs(settings: Settings, path: str) -> None:
    """Make the namespaces defined at `path` what their files say, as the system."""
    from pathlib import Path

    from catalog.commands.load_metadef_namespace import LoadedNamespace, LoadMetadefNamespace
    from catalog.errors import CatalogError
    from catalog.events import EventMetadata
    from catalog.identity import SYSTEM_ACTOR
    from infra.metadef_files import read_definitions

    definitions = read_definitions(Path(path))
    metadata = EventMetadata(actor=SYSTEM_ACTOR, request_id=f"req-cli-{uuid.uuid4()}")
    container = await bootstrap.build(settings, migrate=False)
    try:
        for definition in definitions:
            command = LoadMetadefNamespace(definition=definition)
            try:
                loaded: LoadedNamespace = await container.bus.dispatch(command, metadata)
            except CatalogError as e:
                name = definition.fields.namespace
                raise OperatorError(f"metadefs load: namespace {name}: {e.message}") from e
            print(f"namespace {loaded.name}: {_loaded(loaded)}")
    finally:
        await container.close()


async def import_glance(
    settings: Settings, source: str, include_deleted: bool, copy_to: str | None
) -> None:
    """Bring a Glance database's images in; the summary on standard output, a progress bar
    above it on a terminal."""
    from catalog.errors import CatalogError
    from infra.glance_import.run import NoProgress, Progress
    from infra.glance_import.run import import_glance as run_import
    from infra.glance_import.source import GlanceDatabase, source_url
    from infra.rebuild_progress import ProgressDisplay

    database = GlanceDatabase(source_url(source))
    progress: Progress = (
        ProgressDisplay(sys.stdout, label="import-glance", unit="images")
        if sys.stdout.isatty()
        else NoProgress()
    )
    container = await bootstrap.build(settings, migrate=False)
    try:
        summary = await run_import(
            container,
            database,
            include_deleted=include_deleted,
            copy_to=copy_to,
            progress=progress,
        )
    except CatalogError as e:
        raise OperatorError(f"import-glance: {e.message}") from e
    finally:
        await container.close()
    for line in summary.lines():
        print(line)
    if summary.failed:
        raise OperatorError(f"import-glance: {summary.failed} images failed (listed above)")


def _loaded(loaded: Any) -> str:
    if loaded.created:
        return "created"
    return f"updated ({loaded.changes} changes)" if loaded.changes else "unchanged"


def _run(args: Any, settings: Settings) -> None:
    if args.command == "serve":
        serve_command(
            settings, args.bind or settings.api.bind, args.workers or settings.api.workers
        )
        return
    runs: dict[str, Callable[[], Coroutine[Any, Any, None]]] = {
        "db": lambda: migrate(settings),
        "projections": lambda: rebuild(settings),
        "relay": lambda: relay(settings),
        "consume": lambda: consume(settings, args.name),
        "consumers": lambda: consumers_status(settings),
        "images": lambda: restore(settings, args.image_id),
        "history": lambda: history(settings, args.image_id, args.downloads),
        "metadefs": lambda: load_metadefs(settings, args.path),
        "import-glance": lambda: import_glance(
            settings, args.source, args.include_deleted, args.copy_to
        ),
    }
    asyncio.run(runs[args.command]())


def main(argv: Sequence[str] | None = None) -> None:
    args = parser().parse_args(argv)
    try:
        settings = read_settings()
        configure(settings.log)
        _run(args, settings)
    except OperatorError as e:
        for line in e.lines:
            print(f"catalog: {line}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
