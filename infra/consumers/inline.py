"""Consumers' effects done in the transaction that appends the events, when they can be.

An image's create would otherwise cost a second transaction right after its own: the
notifications consumer's, writing the create's notification to the outbox. A consumer running
in this process that is up to date with the stream (what it applied of it, in the database,
is the event just before; it needs nothing from the log to apply the new ones) does its effect
and records the (stream, version) applied in the append's transaction, as the views are
projected. Everything else is as before: its source still delivers those events, in order,
and the runner passes them by without a transaction (their place is written with a later
delivery), or, in a process that did not note them (after a crash, on another node), finds
them applied by (stream, version) and skips them.

So each event still takes effect exactly once and in order within its stream: an event of a
stream whose earlier ones wait for the consumer is left to it. On PostgreSQL the record of what
was applied is read without waiting for a consumer's transaction holding it: held, it counts as
not up to date (an append never waits for a consumer's batch). A consumer's own error (not the
database's) leaves the events to its source, where it is retried and logged as any failure; it
never fails the append.
"""

from __future__ import annotations

import uuid
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
import structlog

from catalog.events import DomainEvent, RecordedEvent
from infra.consumers.base import InlineConsumer
from infra.db.consumer_state import applied_version_unless_held, record_applied
from infra.db.driver import DATABASE_ERRORS

log = structlog.get_logger(__name__)

NOTED = 10_000
"""Events noted as done at their append, per consumer, until its source delivers them: enough
for any source that keeps up. A note forgotten only costs the delivery a transaction."""


@dataclass
class _Registered:
    consumer: InlineConsumer
    after_commit: Callable[[], None] | None
    done: OrderedDict[uuid.UUID, bool]


class InlineConsumers:
    """The consumers of this process that apply events at their append: the log calls `apply`
    in the appending transaction, `committed` once it committed."""

    def __init__(self) -> None:
        self._registered: dict[str, _Registered] = {}

    def add(self, consumer: InlineConsumer, after_commit: Callable[[], None] | None) -> None:
        """From now on, `consumer` applies what it can at the append (`after_commit` is called
        after each append that did)."""
        self._registered[consumer.name] = _Registered(consumer, after_commit, OrderedDict())

    def remove(self, consumer: str) -> None:
        self._registered.pop(consumer, None)

    def __contains__(self, consumer: object) -> bool:
        return consumer in self._registered

    def apply(
        self,
        conn: sa.Connection,
        recorded: Sequence[RecordedEvent],
        events: Sequence[DomainEvent],
    ) -> tuple[str, ...]:
        """Apply what can be applied on `conn`; returns who did (for `committed`)."""
        return tuple(
            name
            for name, registered in list(self._registered.items())
            if _applied_inline(conn, registered.consumer, recorded, events)
        )

    def committed(self, recorded: Sequence[RecordedEvent], done_by: tuple[str, ...]) -> None:
        for name in done_by:
            registered = self._registered.get(name)
            if registered is None:
                continue
            try:
                registered.consumer.committed_inline(recorded)
            except Exception:  # the append committed: it must not be reported as failed
                log.exception("consumer_inline_commit_failed", consumer=name)
            for event in recorded:
                registered.done[event.event_id] = True
            while len(registered.done) > NOTED:
                registered.done.popitem(last=False)
            if registered.after_commit is not None:
                registered.after_commit()

    def took_effect(self, consumer: str, events: Sequence[RecordedEvent]) -> bool:
        """Whether each of `events` (delivered to `consumer` by its source) took its effect at
        its append in this process; the notes of those that did are forgotten."""
        registered = self._registered.get(consumer)
        if registered is None:
            return False
        noted = [registered.done.pop(event.event_id, False) for event in events]
        return all(noted)


def _applied_inline(
    conn: sa.Connection,
    consumer: InlineConsumer,
    recorded: Sequence[RecordedEvent],
    events: Sequence[DomainEvent],
) -> bool:
    types = consumer.event_types
    wanted = [
        (r, e)
        for r, e in zip(recorded, events, strict=True)
        if types is None or r.event_type in types
    ]
    if not wanted or not all(consumer.applies_inline(r) for r, _ in wanted):
        return False
    stream = wanted[0][0].stream_id  # an append's events are all of one stream
    # A stream this append begins has nothing applied yet: only its events make a record.
    new_stream = wanted[0][0].version == 1
    before = None if new_stream else applied_version_unless_held(conn, consumer.name, stream)
    first = (before or 0) + 1
    if [r.version for r, _ in wanted] != list(range(first, first + len(wanted))):
        return False  # an earlier event of the stream still waits for the consumer
    try:
        consumer.apply_inline(conn, wanted)
    except DATABASE_ERRORS:
        raise  # the database's: the append fails with it, as with a view's
    except Exception:
        log.exception("consumer_inline_failed", consumer=consumer.name)
        return False
    known = {} if before is None else {stream: before}
    record_applied(conn, consumer.name, {stream: wanted[-1][0].version}, known)
    return True
