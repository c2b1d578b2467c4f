"""Costs against the size of the history, in one run: each printed with its ratio to the aim.

    python -m bench.scale [--events 1000000] [--versions 10000] [--rebuild-events N,N...]
                          [--catch-up-events N] [--consumers scrubber,notifications]
                          [--skip history,rebuild,catch-up]
                          [--postgres SERVER_URL] [--kafka HOST:PORT]

1. One image's history (`bench.long_streams`, embedded): a command, `?as_of=` and a history
   page on an image at version 10 against one at version `--versions`.
2. Rebuilding the views (`bench.rebuild`, PostgreSQL) from logs of each `--rebuild-events`
   (default: `--events`): events/s per tenth of the replay, the last tenth against the first,
   the average against the aim and the log-read limit.
3. Each consumer catching up from position 0 (`bench.catch_up`) with a log of
   `--catch-up-events` (default: `--events`): its rate
   against reading the log, through the log's tail and through Kafka, and the append latency
   p99 during it against without.

PostgreSQL is `CATALOG_TEST_POSTGRES_URL` unless `--postgres` (a database of its own is made for
each part and dropped), Kafka `CATALOG_TEST_KAFKA_BOOTSTRAP` unless `--kafka` (without one, the
catch-up is measured through the tail only). The machine is printed first: the ratios are the
figures to compare between machines, each taken within one run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time

from bench import catch_up, rebuild
from bench.long_streams import long_stream_costs
from bench.run import machine
from infra.db.database import open_database
from infra.db.migrate import upgrade


async def main(args: argparse.Namespace) -> None:
    server = args.postgres or os.environ.get("CATALOG_TEST_POSTGRES_URL")
    if not server:
        raise SystemExit("give --postgres SERVER_URL or set CATALOG_TEST_POSTGRES_URL")
    kafka = args.kafka or os.environ.get("CATALOG_TEST_KAFKA_BOOTSTRAP")
    started = time.monotonic()
    print(f"machine: {machine()}", flush=True)

    if "history" not in args.skip:
        print(f"\n== one image's history: version 10 against {args.versions:,} (embedded)")
        for line in await long_stream_costs(args.versions, args.requests):
            print(line, flush=True)

    for events in [] if "rebuild" in args.skip else args.rebuild_events or [args.events]:
        print(f"\n== rebuilding the views from {events:,} events (PostgreSQL)", flush=True)
        async with rebuild.scratch_database(server) as url:
            database = open_database(url)
            try:
                await upgrade(database)
                rebuild_args = argparse.Namespace(events=events, batch=args.batch)
                await rebuild.run(database, url, rebuild_args)
            finally:
                await database.close()

    if "catch-up" not in args.skip:
        await catching_up(server, kafka, args)
    print(f"\n(the whole run: {time.monotonic() - started:,.0f} s)")


async def catching_up(server: str, kafka: str | None, args: argparse.Namespace) -> None:
    events = args.catch_up_events or args.events
    print(f"\n== catching up with {events:,} events from position 0", flush=True)
    async with rebuild.scratch_database(server) as url:
        database = open_database(url)
        try:
            await upgrade(database)
            async for line in catch_up.measure(database, url, events, kafka, args.consumers):
                print(line, flush=True)
        finally:
            await database.close()


PARTS = ("history", "rebuild", "catch-up")


def _parts(text: str) -> list[str]:
    chosen = [part.strip() for part in text.split(",") if part.strip()]
    if unknown := set(chosen) - set(PARTS):
        raise argparse.ArgumentTypeError(f"no part {', '.join(sorted(unknown))}")
    return chosen


def _counts(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


def cli() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--versions", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=30, help="per figure of one image")
    parser.add_argument("--rebuild-events", type=_counts, help="comma-separated log sizes")
    parser.add_argument("--batch", type=int, default=5000, help="events per rebuild batch")
    parser.add_argument("--catch-up-events", type=int, help="the catch-up's log (--events)")
    parser.add_argument(
        "--consumers", type=catch_up.names, default=list(catch_up.CONSUMERS), help="caught up"
    )
    parser.add_argument("--skip", type=_parts, default=[], help=f"of {', '.join(PARTS)}")
    parser.add_argument("--postgres", help="PostgreSQL server URL (databases are made on it)")
    parser.add_argument("--kafka", help="Kafka bootstrap HOST:PORT")
    asyncio.run(main(parser.parse_args()))


if __name__ == "__main__":
    cli()
