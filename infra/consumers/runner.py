"""Running a consumer: deliveries from its source, applied in one transaction each.

A delivery with nothing the consumer acts on (a create, to the scrubber), or only events whose
effects it did at their append (inline.py), needs no transaction: its place is kept back and
written with the next one that has, once the source has been quiet for `QUIET_SECONDS`, or
after `PLACE_SAVE_INTERVAL` at the latest. A crash meanwhile only hands the consumer those
events again, which it passes by again; so most events cost a consumer that does not want them
nothing but the read.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import sqlalchemy as sa
import structlog

from catalog.errors import DatabaseUnavailable
from catalog.events import RecordedEvent, decode
from infra.consumers.base import Consumer, Delivery, EventSource
from infra.consumers.inline import InlineConsumers
from infra.db.consumer_state import applied_versions, record_applied
from infra.db.database import Database
from infra.db.loop_turns import LoopTurns
from infra.live_work import BACKGROUND_STEP, LIVE_WORK

log = structlog.get_logger(__name__)

RETRY_DELAY_START = 0.2
RETRY_DELAY_MAX = 10.0
PLACE_SAVE_INTERVAL = 1.0
"""Seconds a place passed by (see above) waits at most to be written: how stale the place that
lag is measured from may be while only unwanted events come."""
QUIET_SECONDS = 0.1
"""How long a source finds nothing new after the last delivery passed by before its place is
written. Not at its first empty look: on PostgreSQL a tail looks again within milliseconds of
every delivery, and under a steady trickle of creates each look would cost a transaction."""
APPLY_CHUNK = 50
"""Events decoded and applied at a time, within the delivery's one transaction. On PostgreSQL
the work runs on the event loop between the statements' round trips: a chunk's effects go to
the database before the next chunk is decoded, so whatever else the loop serves (the API, for a
consumer inside `catalog serve`) waits for a chunk's work at most, not a whole batch's, while a
consumer catches up with a long log."""


def catching_up(delivery: Delivery) -> bool:
    """Whether `delivery` is a consumer's catching up with the log, not following its head:
    work nobody waits for, which gives way to the process's live work (live_work.py) at its
    steps. A delivery of a few events is what a reader of the consumer's effects (a
    notification's) is waiting for."""
    return len(delivery.events) > BACKGROUND_STEP


def wanted_events(consumer: Consumer, delivery: Delivery) -> list[RecordedEvent]:
    wanted = consumer.event_types
    return [r for r in delivery.events if wanted is None or r.event_type in wanted]


def apply_delivery(conn: sa.Connection, consumer: Consumer, delivery: Delivery) -> int:
    """The effects of the events not applied before, what was applied, and the source's place
    (which stands for the deliveries passed by before it without a transaction): all in the
    caller's transaction. Returns how many events took effect."""
    relevant = wanted_events(consumer, delivery)
    known = applied_versions(conn, consumer.name, {r.stream_id for r in relevant})
    reached = dict(known)
    fresh = []
    for recorded in relevant:
        if recorded.version > reached.get(recorded.stream_id, 0):
            reached[recorded.stream_id] = recorded.version
            fresh.append(recorded)
    turns = LoopTurns(conn, give_way=catching_up(delivery))
    with turns.for_the_unit(conn):
        for start in range(0, len(fresh), APPLY_CHUNK):
            turns.step()
            chunk = fresh[start : start + APPLY_CHUNK]
            decoded = [(r, decode(r.event_type, r.schema_version, r.data)) for r in chunk]
            consumer.apply(conn, decoded)
    if fresh:
        moved = {
            stream: version for stream, version in reached.items() if known.get(stream) != version
        }
        record_applied(conn, consumer.name, moved, known)
    delivery.record_place(conn)
    return len(fresh)


class PassedBy:
    """The latest delivery passed by without a transaction, whose place (standing for those
    before it) is still to be written."""

    def __init__(self) -> None:
        self.latest: Delivery | None = None
        self._since = 0.0
        self._last = 0.0

    def add(self, delivery: Delivery) -> None:
        self._last = time.monotonic()
        if self.latest is None:
            self._since = self._last
        self.latest = delivery

    def overdue(self) -> bool:
        return time.monotonic() - self._since >= PLACE_SAVE_INTERVAL

    def quiet(self) -> bool:
        return time.monotonic() - self._last >= QUIET_SECONDS

    def forget(self) -> None:
        """Its place was written with a later delivery's."""
        self.latest = None

    async def write(self, database: Database) -> None:
        if self.latest is not None:
            await database.write_derived(_record_place, self.latest)
            self.latest = None


def _record_place(conn: sa.Connection, delivery: Delivery) -> None:
    delivery.record_place(conn)


async def run_consumer(
    consumer: Consumer,
    source: EventSource,
    database: Database,
    *,
    after_commit: Callable[[], None] | None = None,
    inline: InlineConsumers | None = None,
) -> None:
    """Consume until cancelled. A failure (database or broker down, an event the consumer cannot
    apply yet) stops nothing for good: the source is restarted from the last committed place
    after a growing pause, so nothing is skipped and nothing is applied twice. A database
    outage (the database's to log) stops the source until the database is back: a consumer
    group is not made to rebalance again and again meanwhile. `inline` says which events
    took their effect at their append here."""
    delay = RETRY_DELAY_START
    while True:
        outage = False
        passed = PassedBy()
        try:
            await source.start()
            log.info("consumer_started", consumer=consumer.name)
            behind = False
            while True:
                if behind:  # nobody waits for this: the process's requests go first
                    await LIVE_WORK.give_way()
                delivery = await source.next()
                behind = delivery is not None and catching_up(delivery)
                if delivery is None:
                    if passed.quiet() or passed.overdue():
                        await passed.write(database)
                    continue
                wanted = wanted_events(consumer, delivery)
                if not wanted or (inline is not None and inline.took_effect(consumer.name, wanted)):
                    passed.add(delivery)
                    if passed.overdue():
                        await passed.write(database)
                    await source.delivered(delivery)
                    continue
                if behind:
                    await LIVE_WORK.give_way()
                applied = await database.write_derived(apply_delivery, consumer, delivery)
                passed.forget()
                await source.delivered(delivery)
                delay = RETRY_DELAY_START
                if applied and after_commit is not None:
                    after_commit()
        except asyncio.CancelledError:
            raise
        except DatabaseUnavailable:
            outage = True
        except Exception:
            log.exception("consumer_failed", consumer=consumer.name, retry_in=delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, RETRY_DELAY_MAX)
        finally:
            await source.stop()
        if outage:
            await database.wait_until_available()
