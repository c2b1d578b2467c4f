"""The notifications consumer: Glance's notifications for every event, into the outbox.

Each event's notifications (catalog/notifications/: images', tasks' and metadata definitions'
streams, each folded by its kind's fold) are written to the `notification` table in
the transaction that records the event as applied, so each is written exactly once; relays then
publish the outbox wherever notifications are sent (infra/notifications/routes.py).
Message ids derive from the event (its time, its id, the notification's index), so a message
published again after a crash is recognisably the same message. Messages are oslo.messaging
notifications (infra/notifications/oslo_messages.py).
"""

from __future__ import annotations

import asyncio
import uuid
from collections import OrderedDict, deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial

import sqlalchemy as sa
import structlog

from catalog.errors import DatabaseUnavailable
from catalog.events import DomainEvent, ImageDataSent, RecordedEvent, decode
from catalog.events.registry import EVENT_TYPES
from catalog.notifications import (
    FOLDS,
    StreamNotifications,
    disabled,
    sent_notification,
)
from catalog.snapshots import fingerprint
from infra.bootstrap import Container
from infra.consumers.base import ConsumerJob
from infra.consumers.fold_cache import FoldCache, PushedOut
from infra.db.checkpoints import load_checkpoint
from infra.db.consumer_folds import StoredFold, forget_folds, load_folds, save_folds
from infra.db.event_log import EarlierEvent, load_streams_between
from infra.db.loop_turns import LoopTurns
from infra.db.notification_outbox import (
    NewNotification,
    add_notifications,
    prune_notifications,
)
from infra.notifications.oslo_messages import oslo_messages
from infra.notifications.routes import notification_relays
from infra.relay import run_relay
from infra.settings import NotificationSettings
from infra.wakeup import Wakeup

log = structlog.get_logger(__name__)

NAME = "notifications"
CACHED_STREAMS = 100_000
"""Streams whose fold the consumer keeps at most (see fold_cache.py)..."""
LIVE_FOLDS = 4_000
"""... of which the most recent as objects (an image's: about 1.6 KB) ..."""
PACKED_FOLD_BYTES = 32 << 20
"""... and the others packed, in this many bytes at most."""
UNCOMMITTED_FOLDS = 1_000
"""Folds advanced at appends not yet committed, kept at most (those of appends that failed go)."""


class NotificationsConsumer:
    name = NAME
    # A stream's fold needs every one of its events: all of each kind that has one.
    event_types: frozenset[str] | None = frozenset(
        event_type for event_type, cls in EVENT_TYPES.items() if cls.aggregate in FOLDS
    )

    def __init__(self, settings: NotificationSettings) -> None:
        self._publisher_id = settings.publisher_id
        self._disabled = settings.disabled_types()
        self._sent_types: dict[str, bool] = {}
        self._folds = FoldCache(
            streams=CACHED_STREAMS, live=LIVE_FOLDS, packed_bytes=PACKED_FOLD_BYTES
        )
        self._kept_in_database: set[int] = set()
        """Streams (their UUIDs' numbers: nothing the collector walks) held here whose fold the
        database keeps too (read back from it): the row goes when the stream ends. (A fold
        begun here and never pushed out has none, so an image's deletion costs no statement.)"""
        self._uncommitted: OrderedDict[uuid.UUID, StreamNotifications] = OrderedDict()
        """Folds advanced at an append that has not committed yet (`apply_inline`)."""
        self._committed: deque[tuple[uuid.UUID, int]] = deque()
        """(stream, version) of appends committed since: their folds are kept by the next
        call that works on the cache. `committed_inline` runs where the append returns (the
        event loop), the consumer's work where the database runs it (SQLite: its writer's
        thread): only this queue, whose ends are safe across threads, is touched by both."""
        self._fingerprints = {k: fingerprint(k) for k in FOLDS.values() if k.stored_form}
        """The code that folds each kind with a stored form (read once: its source)."""

    def apply(
        self, conn: sa.Connection, events: Sequence[tuple[RecordedEvent, DomainEvent]]
    ) -> None:
        """A batch from the consumer's source: events the log holds."""
        self._keep_committed()
        self._store(conn, self._folds.pushed_out())  # pushed out since (read below, maybe)
        folded, rows = self._notified(conn, events)
        for stream in folded:
            self._folds.keep(stream)
        kept = self._kept_in_database
        ended = [s.stream_id for s in folded if s.ended and s.stream_id.int in kept]
        forget_folds(conn, NAME, ended)
        kept.difference_update(stream_id.int for stream_id in ended)
        self._store(conn, self._folds.pushed_out())
        if len(kept) > CACHED_STREAMS + 1_000:  # streams a failed batch took out, never kept
            kept.intersection_update(n for n in kept if self._folds.holds(uuid.UUID(int=n)))
        add_notifications(conn, rows)

    def apply_inline(
        self, conn: sa.Connection, events: Sequence[tuple[RecordedEvent, DomainEvent]]
    ) -> None:
        """At the append, in its transaction: nothing read (`applies_inline`) and nothing
        written but the notifications. The folds advanced wait for the append's commit: a fold
        of an append that failed is never kept, least of all in the database, where it would
        stand for the stream at that version; the folds their keeping pushes out wait for the
        next batch."""
        self._keep_committed()
        folded, rows = self._notified(conn, events)
        for stream in folded:
            self._uncommitted[stream.stream_id] = stream
            if len(self._uncommitted) > UNCOMMITTED_FOLDS:  # appends that failed
                self._uncommitted.popitem(last=False)
        add_notifications(conn, rows)

    def committed_inline(self, recorded: Sequence[RecordedEvent]) -> None:
        self._committed.append((recorded[-1].stream_id, recorded[-1].version))

    def _keep_committed(self) -> None:
        """Keep the folds of the appends committed since the last call."""
        while self._committed:
            stream_id, version = self._committed.popleft()
            fold = self._uncommitted.pop(stream_id, None)
            if fold is not None and fold.version == version:
                self._folds.keep(fold)

    def _notified(
        self, conn: sa.Connection, events: Sequence[tuple[RecordedEvent, DomainEvent]]
    ) -> tuple[list[StreamNotifications], list[NewNotification]]:
        """The notifications of `events`, and their streams' folds as they left them."""
        missing = self._not_cached(events)
        restored = self._stored_folds(conn, events, missing)
        # What each stream not at hand needs read: its history, or what came after its fold.
        after = {stream_id: restored[stream_id].version for stream_id in restored}
        to_read = {
            stream_id: (after.get(stream_id, 0), version)
            for stream_id, version in missing.items()
            if after.get(stream_id, 0) < version - 1
        }
        folds = _BatchFolds(load_streams_between(conn, to_read), restored, LoopTurns.of(conn))
        rows: list[NewNotification] = []
        for recorded, event in events:
            rows.extend(self._rows(conn, recorded, event, folds))
            folds.turns.step()
        return list(folds.folded.values()), rows

    def _stored_folds(
        self,
        conn: sa.Connection,
        events: Sequence[tuple[RecordedEvent, DomainEvent]],
        missing: dict[uuid.UUID, int],
    ) -> dict[uuid.UUID, StreamNotifications]:
        """The folds kept in the database of the streams not at hand, made by this code, that
        the streams' events in `events` can start from (none beyond the event before)."""
        kinds = {r.stream_id: FOLDS[e.aggregate] for r, e in events if r.stream_id in missing}
        wanted = [s for s, kind in kinds.items() if kind.stored_form]
        restored: dict[uuid.UUID, StreamNotifications] = {}
        for stream_id, kept in load_folds(conn, NAME, wanted).items():
            self._kept_in_database.add(stream_id.int)
            kind = kinds[stream_id]
            if kept.fingerprint != self._fingerprints[kind] or kept.version >= missing[stream_id]:
                continue
            try:
                restored[stream_id] = kind.restored(stream_id, kept.version, kept.state)
            except Exception:  # derived data: folded again instead
                log.warning("stored_fold_unreadable", consumer=NAME, stream_id=str(stream_id))
        return restored

    def _store(self, conn: sa.Connection, pushed_out: list[PushedOut]) -> None:
        """Keep in the database the folds pushed out of memory (the latest of each stream)."""
        # The latest of each stream, unless the stream came back meanwhile (its fold is newer).
        latest = {f.stream_id: f for f in pushed_out if not self._folds.holds(f.stream_id)}
        # out of this process's hands
        self._kept_in_database.difference_update(stream_id.int for stream_id in latest)
        save_folds(
            conn,
            NAME,
            [
                StoredFold(f.stream_id, f.version, self._fingerprints[f.kind], f.stored)
                for f in latest.values()
            ],
        )

    def applies_inline(self, recorded: RecordedEvent) -> bool:
        """Nothing to read: an image's create, and what follows it in this process. Nor to
        write but notifications: a stream whose fold came from the database (its row goes
        when it ends) waits for the source."""
        self._keep_committed()
        return recorded.stream_id.int not in self._kept_in_database and self._needs_no_history(
            recorded.stream_id, recorded.version
        )

    def _needs_no_history(self, stream_id: uuid.UUID, version: int) -> bool:
        """Whether the stream's event at `version` is its first, or its fold is cached as the
        event before left it."""
        return version == 1 or self._folds.version(stream_id) == version - 1

    def _not_cached(
        self, events: Sequence[tuple[RecordedEvent, DomainEvent]]
    ) -> dict[uuid.UUID, int]:
        """The streams whose fold is not cached as their events before `events` left it, with
        the version of their first event among `events`: their histories up to there are
        read together. (A consumer catching up with a long log finds few streams cached.)"""
        first: dict[uuid.UUID, int] = {}
        for recorded, event in events:
            if not isinstance(event, ImageDataSent):
                first.setdefault(recorded.stream_id, recorded.version)
        return {
            stream_id: version
            for stream_id, version in first.items()
            if not self._needs_no_history(stream_id, version)
        }

    def _rows(
        self,
        conn: sa.Connection,
        recorded: RecordedEvent,
        event: DomainEvent,
        folds: _BatchFolds,
    ) -> list[NewNotification]:
        if isinstance(event, ImageDataSent):
            # A download is on a stream of its own; its notification is about the image it read.
            notifications = [sent_notification(event, recorded.metadata.actor)]
            subject = event.image_id
        else:
            fold = FOLDS[event.aggregate]
            stream = self._stream_before(conn, recorded, fold, folds)
            notifications = stream.advance(event, recorded.occurred_at)
            folds.folded[stream.stream_id] = stream
            subject = str(recorded.stream_id)
        sent = [(i, n) for i, n in enumerate(notifications) if self._sent(n.event_type)]
        return [
            NewNotification(
                message.message_id,
                subject,
                message.notification.event_type,
                message.notification.priority,
                message.text,
                recorded.occurred_at,
            )
            for message in oslo_messages(recorded, sent, self._publisher_id)
        ]

    def _sent(self, event_type: str) -> bool:
        """Whether notifications of `event_type` are sent (not switched off)."""
        sent = self._sent_types.get(event_type)
        if sent is None:
            sent = self._sent_types[event_type] = not disabled(event_type, self._disabled)
        return sent

    def _stream_before(
        self,
        conn: sa.Connection,
        recorded: RecordedEvent,
        fold: type[StreamNotifications],
        folds: _BatchFolds,
    ) -> StreamNotifications:
        """The stream's fold as the events before this one left it: from the batch's, the
        cache, the folds and histories read for the batch, or else the log."""
        known = folds.folded.pop(recorded.stream_id, None) or self._folds.take(recorded.stream_id)
        if known is not None and known.version == recorded.version - 1:
            return known
        if recorded.version == 1:
            return fold.start(recorded.stream_id)
        stream = folds.restored.pop(recorded.stream_id, None) or fold.start(recorded.stream_id)
        history = folds.histories.pop(recorded.stream_id, [])
        if stream.version + len(history) != recorded.version - 1:
            # not what the batch read for it (not the stream's first event in the batch)
            stream = fold.start(recorded.stream_id)
            between = {recorded.stream_id: (0, recorded.version)}
            history = load_streams_between(conn, between)[recorded.stream_id]
        for earlier in history:
            event = decode(earlier.event_type, earlier.schema_version, earlier.data)
            stream.replay(event, earlier.occurred_at)
            folds.turns.step()
        return stream


@dataclass
class _BatchFolds:
    """One batch's streams: the folds and histories read for it, and each stream's fold so
    far; the event loop's turns, given between events (a batch's folds are long work)."""

    histories: dict[uuid.UUID, list[EarlierEvent]]
    """Each stream's events from its restored fold (or its start) to its first in the batch."""
    restored: dict[uuid.UUID, StreamNotifications]
    """The folds read back from the database for the batch."""
    turns: LoopTurns
    folded: dict[uuid.UUID, StreamNotifications] = field(default_factory=dict)


PRUNE_INTERVAL_SECONDS = 600.0


def notifications_job(container: Container) -> ConsumerJob:
    """The consumer, the relays that publish its outbox (one per destination), and the
    outbox's pruning; the relays are nudged after each of the consumer's commits."""
    settings = container.settings
    written = Wakeup()
    job = ConsumerJob(NotificationsConsumer(settings.notifications), after_commit=written.notify)
    relays = notification_relays(container.database, settings.kafka, settings.notifications)
    for relay in relays:
        job.companions.append(partial(run_relay, relay, settings.kafka, written))
    names = [relay.name for relay in relays]
    job.companions.append(lambda: prune_outbox(container, names))
    return job


async def prune_outbox(container: Container, relays: Sequence[str]) -> None:
    """Forget notifications past their retention, once every relay has published them."""
    retention = timedelta(hours=container.settings.notifications.retention_hours)
    while True:
        try:
            places = [await container.database.read(load_checkpoint, name) for name in relays]
            sent = min(places) if places else None
            older_than = datetime.now(UTC) - retention
            pruned = await container.database.write(prune_notifications, older_than, sent)
            if pruned:
                log.info("notifications_pruned", count=pruned)
        except DatabaseUnavailable:
            pass  # the database logs its outage once; the next round tries again
        except Exception:
            log.exception("notifications_prune_failed")
        await asyncio.sleep(PRUNE_INTERVAL_SECONDS)
