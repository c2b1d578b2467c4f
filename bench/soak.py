"""A soak: many clients for a long while, some slow and some stalling, and nothing may leak.

    . ./.services-env && python -m bench.soak [--minutes 10] [--clients 24] [--slow 4]
                                              [--stalling 4] [--workers 2]

Starts its own `catalog serve --workers N` on the local PostgreSQL (a fresh database), Kafka
and S3 (a fresh bucket), with short client timeouts, and runs against it:
- `--clients` clients, each looping over a mix of creates, lists, shows, PATCHes, uploads
  (256 KiB to 1 MiB) and downloads of its own images, as fast as they are answered;
- `--slow` clients uploading 1 MiB in 64 KiB pieces, half a second apart (slow, never idle
  long enough to be cut off);
- `--stalling` clients that alternately send half a request line and an upload's head with
  10 bytes of its declared 100,000, then wait until the server cuts them off.
It prints the requests by status (no 5xx), p50 / p99 of each operation over the first and
the last minute, the server's memory and open files at the start (after a warm-up) and at
the end, and, once the timeouts have passed, the images left in `saving` and the orphan bytes
in the bucket (objects no image holds).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import statistics
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import asyncpg

from bench.run import IDENTITY, machine
from bench.server import running_server
from tests.s3_admin import S3Admin

KiB, MiB = 1 << 10, 1 << 20
WARM_UP_SECONDS = 30.0
WINDOW_SECONDS = 60.0
HEADER_TIMEOUT_SECONDS = 5
BODY_IDLE_TIMEOUT_SECONDS = 10
MIX = {"create": 15, "list": 25, "show": 25, "patch": 15, "upload": 10, "download": 10}


def identity(client: str) -> dict[str, str]:
    """Each client is a project of its own, as a cloud's tenants are (one project's uploads in
    progress are limited: `CATALOG_QUOTA_UPLOADS_IN_PROGRESS`)."""
    return {**IDENTITY, "X-Project-Id": f"soak-{client}", "Accept": "application/json"}


@dataclass
class Record:
    """Every answer: (seconds since the start, operation, status, latency in seconds)."""

    started: float = field(default_factory=time.monotonic)
    answers: list[tuple[float, str, int, float]] = field(default_factory=list)

    @contextlib.contextmanager
    def timing(self, operation: str) -> Iterator[list[int]]:
        """Time the block; it puts the status it got into the yielded list."""
        status: list[int] = []
        begun = time.monotonic()
        yield status
        self.answers.append(
            (begun - self.started, operation, status[0] if status else 0, time.monotonic() - begun)
        )

    def statuses(self) -> Counter[int]:
        return Counter(status for _, _, status, _ in self.answers)

    def latencies(self, start: float, end: float) -> dict[str, tuple[float, float]]:
        """p50 and p99 in ms of each operation answered between `start` and `end`."""
        by_operation: dict[str, list[float]] = {}
        for at, operation, _, latency in self.answers:
            if start <= at < end:
                by_operation.setdefault(operation, []).append(latency * 1000)
        return {op: _p50_p99(values) for op, values in sorted(by_operation.items())}


def _p50_p99(values: list[float]) -> tuple[float, float]:
    if len(values) < 2:
        return values[0], values[0]
    cuts = statistics.quantiles(values, n=100)
    return cuts[49], cuts[98]


async def normal_client(url: str, record: Record, until: float, name: str) -> None:
    queued: list[str] = []
    active: list[str] = []
    async with aiohttp.ClientSession(headers=identity(name)) as session:
        while time.monotonic() < until:
            operation = random.choices(list(MIX), weights=list(MIX.values()))[0]
            owned = queued + active
            needs = {"upload": queued, "download": active, "show": owned, "patch": owned}
            if operation in needs and not needs[operation]:
                operation = "create"  # nothing of its own to work on yet
            with record.timing(operation) as status:
                if operation == "create":
                    body = {"name": "soak", "disk_format": "raw", "container_format": "bare"}
                    async with session.post(f"{url}/v2/images", json=body) as response:
                        status.append(response.status)
                        if response.status == 201:
                            queued.append((await response.json())["id"])
                elif operation == "list":
                    async with session.get(f"{url}/v2/images?limit=20") as response:
                        status.append(response.status)
                        await response.read()
                elif operation == "show":
                    image_id = random.choice(queued + active)
                    async with session.get(f"{url}/v2/images/{image_id}") as response:
                        status.append(response.status)
                        await response.read()
                elif operation == "patch":
                    image_id = random.choice(queued + active)
                    patch = [{"op": "add", "path": "/soak", "value": str(random.random())}]
                    headers = {"Content-Type": "application/openstack-images-v2.1-json-patch"}
                    async with session.patch(
                        f"{url}/v2/images/{image_id}", data=json.dumps(patch), headers=headers
                    ) as response:
                        status.append(response.status)
                        await response.read()
                elif operation == "upload":
                    image_id = queued.pop()
                    data = os.urandom(random.randint(256 * KiB, MiB))
                    headers = {"Content-Type": "application/octet-stream"}
                    async with session.put(
                        f"{url}/v2/images/{image_id}/file", data=data, headers=headers
                    ) as response:
                        status.append(response.status)
                        if response.status == 204:
                            active.append(image_id)
                else:
                    image_id = random.choice(active)
                    async with session.get(f"{url}/v2/images/{image_id}/file") as response:
                        status.append(response.status)
                        await response.read()


async def slow_client(url: str, record: Record, until: float, name: str) -> None:
    async with aiohttp.ClientSession(headers=identity(name)) as session:
        while time.monotonic() < until:
            body = {"name": "slow", "disk_format": "raw", "container_format": "bare"}
            async with session.post(f"{url}/v2/images", json=body) as response:
                image_id = (await response.json())["id"]

            async def trickle() -> AsyncIterator[bytes]:
                for _ in range(16):
                    yield os.urandom(64 * KiB)
                    await asyncio.sleep(0.5)

            headers = {"Content-Type": "application/octet-stream"}
            with record.timing("slow_upload") as status:
                async with session.put(
                    f"{url}/v2/images/{image_id}/file", data=trickle(), headers=headers
                ) as response:
                    status.append(response.status)


async def stalling_client(url: str, record: Record, until: float, name: str) -> None:
    host, port = url.removeprefix("http://").split(":")
    async with aiohttp.ClientSession(headers=identity(name)) as session:
        while time.monotonic() < until:
            body = {"name": "stalled", "disk_format": "raw", "container_format": "bare"}
            async with session.post(f"{url}/v2/images", json=body) as response:
                image_id = (await response.json())["id"]
            for operation, sent in (
                ("stalled_head", b"GET /v2/ima"),
                ("stalled_upload", _upload_head(image_id, 100_000, name) + b"x" * 10),
            ):
                reader, writer = await asyncio.open_connection(host, int(port))
                with record.timing(operation) as status:
                    writer.write(sent)
                    answer = await reader.read()  # until the server cuts the client off
                    status.append(int(answer.split(b" ")[1]) if answer else 0)
                writer.close()


def _upload_head(image_id: str, declared: int, client: str) -> bytes:
    lines = [
        f"PUT /v2/images/{image_id}/file HTTP/1.1",
        "Host: 127.0.0.1",
        "Content-Type: application/octet-stream",
        f"Content-Length: {declared}",
        *(f"{name}: {value}" for name, value in identity(client).items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


@contextlib.asynccontextmanager
async def fresh_database(server: str) -> AsyncIterator[str]:
    """A new PostgreSQL database on `server` (its URL), dropped afterwards."""
    name = f"catalog_soak_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(server)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    try:
        yield f"{server.rpartition('/')[0]}/{name}"
    finally:
        admin = await asyncpg.connect(server)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def resources(pid: int) -> tuple[float, int]:
    """The server's resident memory (MiB) and open files, its workers' included."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    rss, files = 0.0, 0
    for process in [pid, *map(int, children)]:
        status = Path(f"/proc/{process}/status").read_text().splitlines()
        rss += next(int(line.split()[1]) for line in status if line.startswith("VmRSS:")) / 1024
        files += len(os.listdir(f"/proc/{process}/fd"))
    return rss, files


async def leftovers(database_url: str, s3: S3Admin) -> tuple[int, int, int]:
    """Images still streaming in, and the objects (and their bytes) no image holds."""
    conn = await asyncpg.connect(database_url)
    try:
        streaming = await conn.fetchval(
            "SELECT count(*) FROM image WHERE status = 'saving'"
            " OR (status = 'uploading' AND size IS NULL)"
        )
        rows = await conn.fetch("SELECT locations FROM image WHERE status <> 'deleted'")
    finally:
        await conn.close()
    held = {
        location["url"].removeprefix(f"s3://{s3.bucket}/")
        for row in rows
        for location in json.loads(row["locations"] or "[]")
    }
    orphans = [
        item
        for page in s3.client.get_paginator("list_objects_v2").paginate(Bucket=s3.bucket)
        for item in page.get("Contents", [])
        if item["Key"] not in held
    ]
    return int(streaming), len(orphans), sum(item["Size"] for item in orphans)


def print_latencies(title: str, figures: dict[str, tuple[float, float]]) -> None:
    print(f"  {title}:")
    for operation, (p50, p99) in figures.items():
        print(f"    {operation:<15} p50 {p50:8.1f} ms   p99 {p99:8.1f} ms")


def server_settings(args: argparse.Namespace, s3: S3Admin, database_url: str) -> dict[str, str]:
    """PostgreSQL, Kafka (topics of the soak's own), S3 (its bucket), the workers, and client
    timeouts short enough for stalled clients to be cut off within the run."""
    return {
        "CATALOG_DATABASE_URL": database_url,
        "CATALOG_KAFKA_BOOTSTRAP_SERVERS": os.environ["CATALOG_TEST_KAFKA_BOOTSTRAP"],
        "CATALOG_KAFKA_EVENTS_TOPIC": f"soak-{s3.bucket}",
        "CATALOG_NOTIFICATIONS_TOPIC": f"soak-{s3.bucket}-notifications",
        "CATALOG_STORES": "s3:s3",
        "CATALOG_API_WORKERS": str(args.workers),
        "CATALOG_API_HEADER_TIMEOUT_SECONDS": str(HEADER_TIMEOUT_SECONDS),
        "CATALOG_API_BODY_IDLE_TIMEOUT_SECONDS": str(BODY_IDLE_TIMEOUT_SECONDS),
        "CATALOG_LOG_LEVEL": "WARNING",
        **{f"CATALOG_STORE_S3_{k.upper()}": v for k, v in s3.store_options().items()},
    }


async def soak(args: argparse.Namespace) -> None:
    s3 = S3Admin(
        os.environ["CATALOG_TEST_S3_ENDPOINT"],
        os.environ["CATALOG_TEST_S3_ACCESS_KEY"],
        os.environ["CATALOG_TEST_S3_SECRET_KEY"],
        os.environ["CATALOG_TEST_S3_REGION"],
    )
    try:
        async with fresh_database(os.environ["CATALOG_TEST_POSTGRES_URL"]) as database_url:
            env = server_settings(args, s3, database_url)
            with (
                tempfile.TemporaryDirectory() as data_dir,
                running_server(Path(data_dir), env) as (
                    url,
                    pid,
                ),
            ):
                record = Record()
                until = record.started + args.minutes * 60
                clients = [normal_client(url, record, until, f"{n}") for n in range(args.clients)]
                clients += [slow_client(url, record, until, f"slow-{n}") for n in range(args.slow)]
                clients += [
                    stalling_client(url, record, until, f"stalling-{n}")
                    for n in range(args.stalling)
                ]
                running = asyncio.gather(*clients)
                await asyncio.sleep(WARM_UP_SECONDS)
                at_start = resources(pid)
                await running
                at_end = resources(pid)
                await asyncio.sleep(BODY_IDLE_TIMEOUT_SECONDS + 5)
                left = await leftovers(database_url, s3)
                report(args, record, at_start, at_end, left)
    finally:
        remove_bucket(s3)


def report(
    args: argparse.Namespace,
    record: Record,
    at_start: tuple[float, int],
    at_end: tuple[float, int],
    left: tuple[int, int, int],
) -> None:
    elapsed = args.minutes * 60
    print(
        f"soak: {args.minutes:g} min, {args.clients} clients, {args.slow} slow, "
        f"{args.stalling} stalling, --workers {args.workers}; {machine()}"
    )
    statuses = dict(sorted(record.statuses().items()))
    print("requests by status (0: closed without an answer):", statuses)
    print_latencies("first minute", record.latencies(0, WINDOW_SECONDS))
    print_latencies("last minute", record.latencies(elapsed - WINDOW_SECONDS, elapsed))
    print(f"server memory: {at_start[0]:.0f} MiB after warm-up, {at_end[0]:.0f} MiB at the end")
    print(f"server open files: {at_start[1]} after warm-up, {at_end[1]} at the end")
    streaming, orphans, orphan_bytes = left
    print(
        f"images left streaming in: {streaming}; orphan objects: {orphans} ({orphan_bytes} bytes)"
    )


def remove_bucket(s3: S3Admin) -> None:
    """The soak's bucket and everything in it (more objects than one listing shows), if the
    server made it."""
    with contextlib.suppress(s3.client.exceptions.NoSuchBucket):
        for page in s3.client.get_paginator("list_objects_v2").paginate(Bucket=s3.bucket):
            for item in page.get("Contents", []):
                s3.client.delete_object(Bucket=s3.bucket, Key=item["Key"])
        s3.client.delete_bucket(Bucket=s3.bucket)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=24)
    parser.add_argument("--slow", type=int, default=4)
    parser.add_argument("--stalling", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    asyncio.run(soak(parser.parse_args()))


if __name__ == "__main__":
    main()
