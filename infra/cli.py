"""The `catalog` command: serve the API, migrate, rebuild views, relay the log to Kafka."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import socket
import sys
from collections.abc import Sequence

import structlog
from aiohttp import web

from infra import bootstrap
from infra.http.app import create_app
from infra.logging import configure
from infra.recovery import run_heartbeat_and_recovery
from infra.settings import Settings
from infra.workers import listening_socket, supervise

log = structlog.get_logger("catalog")


def _split_bind(bind: str) -> tuple[str, int]:
    host, _, port = bind.rpartition(":")
    if not host or not port.isdigit():
        raise SystemExit(f"--bind wants HOST:PORT, got {bind!r}")
    return host.strip("[]"), int(port)


async def _until_stopped() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


async def serve(settings: Settings, bind: str, sock: socket.socket | None = None) -> None:
    """Serve on `bind`, or on the already listening `sock` of a multi-process server."""
    host, port = _split_bind(bind)
    container = await bootstrap.build(settings)
    background: list[asyncio.Task[None]] = [
        asyncio.create_task(
            run_heartbeat_and_recovery(container, settings.core.upload_lease_seconds)
        )
    ]
    if settings.kafka.bootstrap_servers:
        from infra.kafka.relay import run_relay

        background.append(asyncio.create_task(run_relay(container.log, settings.kafka)))
    runner = web.AppRunner(create_app(container), access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port) if sock is None else web.SockSite(runner, sock)
        await site.start()
        if settings.api.auth_mode == "noauth":
            log.warning(
                "noauth_mode",
                detail="requests without identity headers act as project "
                f"{settings.api.default_project!r} with the admin, member and reader roles",
            )
        log.info(
            "serving",
            url=f"http://{host}:{port}",
            database=container.database.display_url,
            default_store=settings.stores.default_name,
        )
        await _until_stopped()
    finally:
        for task in background:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await runner.cleanup()
        await container.close()


async def migrate(settings: Settings) -> None:
    container = await bootstrap.build(settings)
    await container.close()
    print("database schema is up to date")


async def rebuild(settings: Settings) -> None:
    from infra.projection_rebuild import RebuildError, rebuild_projections
    from infra.rebuild_progress import ProgressDisplay

    container = await bootstrap.build(settings)
    try:
        result = await rebuild_projections(container.log, ProgressDisplay(sys.stderr))
    except RebuildError as e:
        raise SystemExit(f"rebuild: {e}") from e
    finally:
        await container.close()
    print(result.summary())


async def relay(settings: Settings) -> None:
    from infra.kafka.relay import run_relay

    if not settings.kafka.bootstrap_servers:
        raise SystemExit("set CATALOG_KAFKA_BOOTSTRAP_SERVERS to relay the log to Kafka")
    container = await bootstrap.build(settings)
    task = asyncio.create_task(run_relay(container.log, settings.kafka))
    try:
        await _until_stopped()
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await container.close()


def serve_in_workers(settings: Settings, bind: str, workers: int | None) -> None:
    count = workers or settings.api.workers
    if settings.database.url is None or not settings.database.url.startswith("postgres"):
        # SQLite has one writer: several processes would queue on its file lock.
        raise SystemExit("--workers above 1 needs PostgreSQL (CATALOG_DATABASE_URL)")
    sock = listening_socket(*_split_bind(bind))
    supervise(count, lambda: asyncio.run(serve(settings, bind, sock)))


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="catalog", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("serve", help="serve the Image API v2")
    s.add_argument("--bind", help="HOST:PORT to listen on (default 127.0.0.1:9292)")
    s.add_argument(
        "--workers",
        type=int,
        help="server processes sharing the socket (PostgreSQL only; default 1)",
    )
    db = sub.add_parser("db", help="database schema").add_subparsers(dest="action", required=True)
    db.add_parser("upgrade", help="apply the migrations")
    pr = sub.add_parser("projections", help="the read views")
    pr.add_subparsers(dest="action", required=True).add_parser(
        "rebuild", help="replay the log into new views, then switch to them"
    )
    sub.add_parser("relay", help="publish the log to Kafka")
    return p


def main(argv: Sequence[str] | None = None) -> None:
    args = parser().parse_args(argv)
    configure()
    settings = Settings()
    if args.command == "serve" and (args.workers or settings.api.workers) > 1:
        serve_in_workers(settings, args.bind or settings.api.bind, args.workers)
        return
    runs = {
        "serve": lambda: serve(settings, args.bind or settings.api.bind),
        "db": lambda: migrate(settings),
        "projections": lambda: rebuild(settings),
        "relay": lambda: relay(settings),
    }
    try:
        asyncio.run(runs[args.command]())
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
