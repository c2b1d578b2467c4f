"""The catalog and another image service side by side: the same workload, in turns, one run.

    python -m bench.compare [--compare-url URL --compare-pid PID] [--postgres URL]
                            [--rounds 3] [--seconds 5] [--upload-mib 256] [--creates-only]

Starts its own `catalog serve` (embedded: SQLite and files under the current directory) and,
with `--postgres`, a second one whose log and views are on that (empty) PostgreSQL database;
drives them and the reference service at `--compare-url` (e.g. a Glance 33 under uWSGI;
`--compare-pid` is its master process, whose workers are counted with it) with the same
client, alternating them figure by figure, round by round. Each figure is printed with the
server CPU it cost (user + system time of the server's processes, from /proc), the ratio
between each catalog and the reference in this run, and the aim it is held to. Without a
reference, the catalogs' own figures. md5 and sha512 over the same bytes, timed in this
process, give the floor of an upload's CPU per MiB. A download is timed twice: as the upload
left the page cache (the catalog writes new files around it), and cold, after the machine's
page caches were dropped (as root only). `--creates-only` measures creates alone.

The reference answers with the identity in X-Project-Id / X-User-Id / X-Roles headers, as the
catalog's embedded default does (Glance: the reference server's `noauth-headers` flavour).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import os
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench.data_path import MiB, chunks_of, download_mb_per_s, sample_data, upload
from bench.list_latency import latencies
from bench.run import creates_made, machine
from bench.server import cpu_seconds, running_server

IMAGES_LISTED = 1_000
LIST_REQUESTS = 200


@dataclass
class Service:
    name: str
    url: str
    pid: int
    images: int = 0
    uploaded: list[str] = field(default_factory=list)


@dataclass
class Sample:
    rate: float
    """Operations (or MB) per second."""
    cpu_ms: float
    """Server CPU per operation (or per MiB), in ms."""


async def measured(
    service: Service, work: Callable[[], Awaitable[tuple[float, int]]]
) -> tuple[float, float, int]:
    """Run `work` (which returns its rate and its operation count) and the server CPU it cost."""
    before = cpu_seconds(service.pid)
    rate, operations = await work()
    return rate, (cpu_seconds(service.pid) - before) * 1000 / max(operations, 1), operations


async def creates(service: Service, clients: int, seconds: float) -> Sample:
    async def work() -> tuple[float, int]:
        return await creates_made(service.url, clients, seconds)

    rate, cpu, done = await measured(service, work)
    service.images += done
    return Sample(rate, cpu)


async def uploads(service: Service, data: bytes) -> Sample:
    async def work() -> tuple[float, int]:
        image_id, rate = await upload(service.url, chunks_of(data), len(data))
        service.uploaded.append(image_id)
        return rate, len(data) // MiB

    rate, cpu, _ = await measured(service, work)
    service.images += 1
    return Sample(rate, cpu)


async def downloads(service: Service, size: int, *, cold: bool = False) -> Sample:
    """The last image uploaded, read back: from the page cache as the service left it, or
    `cold`, after every page cache of the machine was dropped (both services alike)."""

    async def work() -> tuple[float, int]:
        if cold:
            drop_page_caches()
        return await download_mb_per_s(service.url, service.uploaded[-1]), size // MiB

    rate, cpu, _ = await measured(service, work)
    return Sample(rate, cpu)


DROP_CACHES = Path("/proc/sys/vm/drop_caches")


def drop_page_caches() -> None:
    os.sync()
    DROP_CACHES.write_text("1")


async def list_p99(service: Service) -> Sample:
    async def work() -> tuple[float, int]:
        timings = await latencies(service.url, "limit=20", LIST_REQUESTS)
        return statistics.quantiles(timings, n=100)[98], LIST_REQUESTS

    p99, cpu, _ = await measured(service, work)
    return Sample(p99, cpu)


async def fill(service: Service, count: int) -> None:
    """Create images until the service holds at least `count` made by this run."""
    while service.images < count:
        await creates(service, 8, 2.0)


def hashing_cpu_ms_per_mib(data: bytes) -> float:
    """md5 then sha512 over `data`: the CPU an upload cannot avoid, per MiB."""
    start = time.process_time()
    hashlib.md5(data, usedforsecurity=False).digest()
    hashlib.sha512(data).digest()
    return (time.process_time() - start) * 1000 / (len(data) / MiB)


@dataclass(frozen=True)
class Figure:
    label: str
    unit: str
    run: Callable[[Service], Awaitable[Sample]]
    higher_is_better: bool = True
    aim: float | None = None
    """The catalog's rate over the reference's at least (at most, where lower is better)."""


def figures(args: argparse.Namespace, data: bytes) -> list[Figure]:
    creating = [
        Figure("create, 1 client", "req/s", lambda s: creates(s, 1, args.seconds), aim=10.0),
        Figure("create, 8 clients", "req/s", lambda s: creates(s, 8, args.seconds)),
    ]
    if args.creates_only:
        return creating
    return [
        *creating,
        Figure(f"upload {args.upload_mib} MiB", "MB/s", lambda s: uploads(s, data), aim=1.3),
        Figure(
            f"download {args.upload_mib} MiB, as left", "MB/s", lambda s: downloads(s, len(data))
        ),
        *(
            [
                Figure(
                    f"download {args.upload_mib} MiB, cold",
                    "MB/s",
                    lambda s: downloads(s, len(data), cold=True),
                )
            ]
            if os.access(DROP_CACHES, os.W_OK)
            else []
        ),
        Figure(
            f"list limit 20, >= {IMAGES_LISTED} images, p99",
            "ms",
            list_p99,
            higher_is_better=False,
        ),
    ]


def median(samples: list[Sample]) -> Sample:
    return Sample(
        statistics.median(s.rate for s in samples), statistics.median(s.cpu_ms for s in samples)
    )


def report(figure: Figure, results: dict[str, list[Sample]], reference: Service | None) -> None:
    """The figure of each catalog (and the reference), with each catalog's ratio to it."""

    def better(mine: Sample, other: Sample) -> float:
        """How many times better the catalog's figure is than the reference's."""
        return mine.rate / other.rate if figure.higher_is_better else other.rate / mine.rate

    per = "MiB" if figure.unit == "MB/s" else "op"
    print(figure.label)
    reference_name = reference.name if reference is not None else None
    for name, samples in results.items():
        mine = median(samples)
        line = (
            f"  {name:<22} {mine.rate:8.1f} {figure.unit:<5}"
            f" server CPU per {per} {mine.cpu_ms:6.2f} ms"
        )
        if reference_name is not None and name != reference_name:
            theirs = results[reference_name]
            other = median(theirs)
            ratio = better(mine, other)
            rounds = ", ".join(f"{better(a, b):.2f}" for a, b in zip(samples, theirs, strict=True))
            line += f" = {ratio:5.2f}x ({other.cpu_ms / mine.cpu_ms:4.2f}x less CPU)"
            line += f"; by round: {rounds}"
            if figure.aim is not None:
                line += f"; aim >= {figure.aim:g}x: {'met' if ratio >= figure.aim else 'MISSED'}"
        print(line)


async def main(args: argparse.Namespace) -> None:
    print(f"machine: {machine()}")
    data = sample_data(args.upload_mib * MiB)
    databases: dict[str, dict[str, str]] = {"catalog, SQLite": {}}
    if args.postgres:
        databases["catalog, PostgreSQL"] = {"CATALOG_DATABASE_URL": args.postgres}
    with contextlib.ExitStack() as running:
        catalogs = []
        for name, env in databases.items():
            tmp = Path(
                running.enter_context(tempfile.TemporaryDirectory(dir=".", prefix=".bench-"))
            )
            url, pid = running.enter_context(running_server(tmp, env))
            catalogs.append(Service(name, url, pid))
        reference = (
            Service("reference", args.compare_url, args.compare_pid) if args.compare_url else None
        )
        services = [*catalogs, *([reference] if reference is not None else [])]
        print(
            "catalogs: "
            + ", ".join(c.name for c in catalogs)
            + ", filesystem store"
            + (
                f"; reference: {reference.url} (process {reference.pid} and its children)"
                if reference is not None
                else "; no reference"
            )
        )
        chosen = figures(args, data)
        if not args.creates_only:
            for service in services:
                await fill(service, IMAGES_LISTED)
        results: dict[str, dict[str, list[Sample]]] = {}
        for _ in range(args.rounds):
            for figure in chosen:
                for service in services:
                    samples = results.setdefault(figure.label, {}).setdefault(service.name, [])
                    samples.append(await figure.run(service))
        print(f"medians of {args.rounds} rounds, the services in turn:")
        for figure in chosen:
            report(figure, results[figure.label], reference)
        if not args.creates_only:
            floor = hashing_cpu_ms_per_mib(data)
            for catalog in catalogs:
                upload_cpu = median(results[f"upload {args.upload_mib} MiB"][catalog.name]).cpu_ms
                print(
                    f"{catalog.name}: upload CPU {upload_cpu:.2f} ms/MiB,"
                    f" {upload_cpu - floor:+.2f} ms from the floor (md5 + sha512 here:"
                    f" {floor:.2f} ms/MiB; aim: at most 3.6 ms/MiB and within 0.5 ms of it)"
                )
        for catalog in catalogs:
            create_cpu = median(results["create, 1 client"][catalog.name]).cpu_ms
            print(
                f"{catalog.name}: CPU per create, 1 client: {create_cpu:.2f} ms (aim: at most 2 ms)"
            )


def cli() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--compare-url", help="the reference image service (none: no reference)")
    parser.add_argument("--compare-pid", type=int, help="its main process (children counted)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5.0, help="per create figure")
    parser.add_argument("--upload-mib", type=int, default=256)
    parser.add_argument(
        "--postgres", help="an empty PostgreSQL database for a second catalog, beside SQLite's"
    )
    parser.add_argument("--creates-only", action="store_true", help="measure creates alone")
    args = parser.parse_args()
    if args.compare_url and args.compare_pid is None:
        parser.error("--compare-url needs --compare-pid")
    asyncio.run(main(args))


if __name__ == "__main__":
    cli()
