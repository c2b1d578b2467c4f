"""Scale-out on one node: creates and downloads with 1, 2 and 4 server processes on PostgreSQL.

    python -m bench.scale_out --postgres URL [--workers 1,2,4] [--seconds 10] [--clients 16]
                              [--download-mib 64]

For each count of processes, starts `catalog serve --workers N` on a database of its own (made
here, dropped afterwards) and the filesystem store, then measures with `--clients` concurrent
clients: creates per second, and downloads of one image in MB/s, each with the server CPU it
cost (all its processes, from /proc). The client runs on the same machine: on a host with few
cores it takes its share of them, which the figures show as much as the server's growth.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid
from pathlib import Path

import aiohttp

from bench.compare import Service, creates
from bench.data_path import MiB, chunks_of, sample_data, upload
from bench.list_latency import fresh_database
from bench.run import IDENTITY, machine
from bench.server import cpu_seconds, running_server


async def downloads(
    url: str, pid: int, image_id: str, clients: int, seconds: float
) -> tuple[float, float]:
    """MB/s of the image downloaded again and again, and server CPU per MiB (ms)."""
    received = 0
    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(headers=IDENTITY, connector=connector) as session:
        stop_at = time.perf_counter() + seconds

        async def client() -> None:
            nonlocal received
            while time.perf_counter() < stop_at:
                async with session.get(f"{url}/v2/images/{image_id}/file") as response:
                    assert response.status == 200, await response.text()
                    async for chunk in response.content.iter_any():
                        received += len(chunk)

        before, start = cpu_seconds(pid), time.perf_counter()
        await asyncio.gather(*(client() for _ in range(clients)))
        elapsed, cpu = time.perf_counter() - start, cpu_seconds(pid) - before
    return received / elapsed / 1e6, cpu * 1000 / max(received / MiB, 1)


async def main(args: argparse.Namespace) -> None:
    print(f"machine: {machine()}")
    data = sample_data(args.download_mib * MiB)
    baseline: tuple[float, float] | None = None
    for workers in [int(n) for n in args.workers.split(",")]:
        name = f"bench_scale_out_{uuid.uuid4().hex[:8]}"
        database = await fresh_database(args.postgres, name)
        env = {"CATALOG_DATABASE_URL": database, "CATALOG_API_WORKERS": str(workers)}
        with (
            tempfile.TemporaryDirectory(dir=".", prefix=".bench-") as tmp,
            running_server(Path(tmp), env) as (url, pid),
        ):
            image_id, _ = await upload(url, chunks_of(data), len(data))
            server = Service("catalog", url, pid)
            await creates(server, args.clients, 1.0)  # warm every worker up
            made = await creates(server, args.clients, args.seconds)
            create_rate, create_cpu = made.rate, made.cpu_ms
            mb_s, download_cpu = await downloads(url, pid, image_id, args.clients, args.seconds)
        await drop_database(args.postgres, name)
        if baseline is None:
            baseline = (create_rate, mb_s)
        print(
            f"{workers} process(es): create {create_rate:7.1f} req/s"
            f" ({create_rate / baseline[0]:4.2f}x one), {create_cpu:5.2f} ms CPU each;"
            f" download {mb_s:7.1f} MB/s ({mb_s / baseline[1]:4.2f}x one),"
            f" {download_cpu:5.2f} ms CPU per MiB"
        )


async def drop_database(server_url: str, name: str) -> None:
    import asyncpg

    admin = await asyncpg.connect(server_url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


def cli() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--postgres", required=True, help="a PostgreSQL server's URL")
    parser.add_argument("--workers", default="1,2,4", help="counts of server processes")
    parser.add_argument("--seconds", type=float, default=10.0, help="per figure")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--download-mib", type=int, default=64)
    asyncio.run(main(parser.parse_args()))


if __name__ == "__main__":
    cli()
