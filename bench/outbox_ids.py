"""The outbox's insert against the form of its message ids, per tenth of a long run.

Fills the `notification` table of a database of its own (made on the PostgreSQL server and
dropped after) with `--rows` notifications of 1 KB, `--batch` to a statement as a consumer's
batch writes them, once with the ids the catalog makes (the event's time first) and once with
ids hashed whole (name-based, version 5, as they were made before), and prints the cost per row
in each tenth. An index that takes its entries at random places costs more per row once it
outgrows the server's cache; one that grows at its end stays flat.

    python -m bench.outbox_ids --postgres postgresql://user:password@127.0.0.1:5432/postgres
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from bench.rebuild import scratch_database
from bench.run import machine
from bench.tenths import TENTHS
from infra.db.database import open_database
from infra.db.migrate import upgrade
from infra.db.notification_outbox import NewNotification, add_notifications
from infra.notifications.oslo_messages import MESSAGE_IDS, message_id_text

FIRST_EVENT_AT = datetime(2026, 1, 1, tzinfo=UTC)
MESSAGE = '{"payload": "' + "x" * 1000 + '"}'
"""About the size of an image's notification (1 KB)."""

IdOf = Callable[[str, int, datetime], str]


def hashed_id(event: str, index: int, occurred_at: datetime) -> str:
    return str(uuid.uuid5(MESSAGE_IDS, f"{event}/{index}"))


FORMS: dict[str, IdOf] = {"time first": message_id_text, "hashed (v5)": hashed_id}


def notifications(first: int, count: int, id_of: IdOf) -> list[NewNotification]:
    """Rows `first` to `first + count` of the run: one per event, an event per millisecond."""
    rows = []
    for n in range(first, first + count):
        occurred_at = FIRST_EVENT_AT + timedelta(milliseconds=n)
        event = str(uuid.UUID(int=n * 0x9E3779B97F4A7C15 % (1 << 128)))
        rows.append(
            NewNotification(
                id_of(event, 0, occurred_at), event, "image.update", "INFO", MESSAGE, occurred_at
            )
        )
    return rows


async def microseconds_per_row(url: str, rows: int, batch: int, id_of: IdOf) -> list[float]:
    database = open_database(url)
    try:
        await upgrade(database)
        tenth = rows // TENTHS
        costs = []
        for first in range(0, tenth * TENTHS, tenth):
            spent = 0.0
            for start in range(first, first + tenth, batch):
                added = notifications(start, min(batch, first + tenth - start), id_of)
                began = time.perf_counter()
                await database.write(add_notifications, added)
                spent += time.perf_counter() - began
            costs.append(spent / tenth * 1e6)
        return costs
    finally:
        await database.close()


async def main(args: argparse.Namespace) -> None:
    server = args.postgres or os.environ.get("CATALOG_TEST_POSTGRES_URL")
    if not server:
        raise SystemExit("give --postgres SERVER_URL or set CATALOG_TEST_POSTGRES_URL")
    print(f"machine: {machine()}")
    for name, id_of in FORMS.items():
        async with scratch_database(server) as url:
            costs = await microseconds_per_row(url, args.rows, args.batch, id_of)
        tenths = " ".join(f"{cost:.1f}" for cost in costs)
        print(
            f"ids {name}: µs per row per tenth {tenths};"
            f" last / first {costs[-1] / costs[0]:.2f}, mean {sum(costs) / len(costs):.1f}"
        )


def cli() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_400_000)
    parser.add_argument("--batch", type=int, default=500, help="rows per statement")
    parser.add_argument("--postgres", help="PostgreSQL server URL (a database is made on it)")
    asyncio.run(main(parser.parse_args()))


if __name__ == "__main__":
    cli()
