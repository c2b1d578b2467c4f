"""The event log on PostgreSQL or SQLite.

Appends run in one transaction with the inline projections, so a view never lags its log.
Reads follow commit order and stop where an earlier append could still be in flight:

- PostgreSQL: each row carries its transaction's id (`xid8`); a reader only returns rows whose
  transaction id is below the oldest transaction still running in this database (`PG_HORIZON`),
  ordered by (transaction id, position). No row can later appear before a cursor taken from such
  a read.
- SQLite: one writer at a time, so positions commit in order and the position alone is the cursor.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence, Set
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol, TypeVar

import asyncpg
import sqlalchemy as sa

from catalog.claims import Claim
from catalog.errors import CatalogError, ConcurrencyConflict
from catalog.events import (
    DomainEvent,
    EventMetadata,
    NewEvent,
    RecordedEvent,
    ReplayEvent,
    decode,
    encode,
)
from catalog.ports import LogCursor
from catalog.projections.base import Projection, insert_rows
from catalog.queries.claims import enforce_claim
from catalog.quotas import QuotaLimits
from infra.db.copy_rows import copy_rows
from infra.db.database import Database, PostgresDatabase
from infra.db.driver import DriverStatement
from infra.db.group_commit import GroupCommit
from infra.db.own_appends import OwnAppends
from infra.db.recent_appends import RecentAppends
from infra.db.tables import event
from infra.live_work import LIVE_WORK, made_giving_way
from infra.wakeup import Wakeup

if TYPE_CHECKING:
    from infra.consumers.inline import InlineConsumers

_COLUMNS = (
    event.c.position,
    event.c.stream_id,
    event.c.version,
    event.c.event_id,
    event.c.event_type,
    event.c.schema_version,
    event.c.data,
    event.c.metadata,
    event.c.occurred_at,
)


PG_HORIZON = (
    "(SELECT coalesce(min(running), pg_snapshot_xmax(pg_current_snapshot()))"
    " FROM pg_snapshot_xip(pg_current_snapshot()) AS running"
    " WHERE NOT EXISTS (SELECT FROM pg_stat_activity AS elsewhere"
    " WHERE elsewhere.backend_xid = running::xid AND elsewhere.datname <> current_database()))"
)
"""The horizon of a never-skipping read: the oldest transaction still running *in this
database* (or, with none, the next transaction id). A row below it can no longer be overtaken
by a commit. Transactions of the server's other databases cannot write here, so they are passed
over; pg_snapshot_xmin would count them too, and a long migration or report elsewhere on a
shared server would hold every reader back until it ended. A running transaction counts unless
pg_stat_activity places it in another database: one it cannot place (gone since the snapshot,
not shown to this role) holds the horizon, as before."""


def pg_log_read(
    select_list: str, columns: Sequence[sa.ColumnElement[Any]], *, horizon: bool = True
) -> sa.TextualSelect:
    """Only rows of transactions older than every transaction still running here (the horizon,
    `PG_HORIZON`): nothing can commit later in front of them. `(commit_order, position)` is the
    reader's order and cursor. Without the horizon, only while appends are held
    (`SqlEventLog.hold_appends`): then nothing is in flight, every row is committed and none can
    appear before the cursor."""
    limit = f" AND commit_order < {PG_HORIZON}" if horizon else ""
    return sa.text(
        f"SELECT {select_list} FROM event"
        " WHERE (commit_order, position) > (CAST(:commit_order AS text)::xid8, :position)"
        # Qualified: a bare `commit_order` would be the select list's bigint, which no index
        # orders, and every read would sort the whole log.
        f"{limit} ORDER BY event.commit_order, event.position LIMIT :limit"
    ).columns(*columns)  # matched by position


_PG_SELECT = (
    "position, stream_id, version, event_id, event_type, schema_version, data, metadata,"
    " occurred_at, commit_order::text::bigint AS commit_order"
)
PG_ALL_SEEN = f"({PG_HORIZON}) = pg_snapshot_xmax(pg_current_snapshot()) AS all_seen"
"""Whether the read's horizon is its snapshot's end: no transaction of this database that
began before the latest commit was still running. The read then returned everything committed
(up to its limit), and whatever commits later comes after its last row. (The horizon's subquery
is evaluated once for the condition and once here, on the same snapshot; with nothing running
neither looks at pg_stat_activity.)"""
_PG_READ = pg_log_read(
    f"{_PG_SELECT}, {PG_ALL_SEEN}",
    (*_COLUMNS, sa.column("commit_order", sa.BigInteger), sa.column("all_seen")),
)
_PG_READ_ON_DRIVER = DriverStatement(_PG_READ)
_PG_HOLD_APPENDS = sa.text("LOCK TABLE event IN SHARE ROW EXCLUSIVE MODE")


_SQLITE_READ = (
    sa.select(*_COLUMNS, event.c.commit_order)
    .where(event.c.position > sa.bindparam("position"))
    .order_by(event.c.position)
    .limit(sa.bindparam("limit"))
)
_STREAM_EVENTS = (
    sa.select(*_COLUMNS, sa.literal(0).label("commit_order"))
    .where(event.c.stream_id == sa.bindparam("s"))
    .order_by(event.c.version)
)
_STREAM = DriverStatement(_STREAM_EVENTS)
_STREAM_AFTER = DriverStatement(_STREAM_EVENTS.where(event.c.version > sa.bindparam("v")))

_INSERT_EVENTS = sa.insert(event).returning(event.c.position, sort_by_parameter_order=True)
_NEW_EVENT_COLUMNS = [c.name for c in event.c if c.name not in ("position", "commit_order")]
"""What an append gives of an event (the database gives the rest)."""
_PG_INSERT_EVENT = DriverStatement(
    sa.insert(event).returning(event.c.position), columns=_NEW_EVENT_COLUMNS
)
"""The usual append, one event, on PostgreSQL's driver (several go through `_INSERT_EVENTS`,
one statement for all)."""
_STREAM_VERSION = sa.select(sa.func.coalesce(sa.func.max(event.c.version), 0)).where(
    event.c.stream_id == sa.bindparam("s")
)


class TailRead(NamedTuple):
    """What a reader that follows the log read."""

    events: list[RecordedEvent]
    caught_up: bool
    """Whether the reader may wait for this process's next append (`SqlEventLog.appended`)
    before it looks again: the read returned everything committed, nothing can still commit
    before its end, whatever was new came from this process, whose appends nudge, and none of
    its appends was in flight (committed, perhaps, and not yet nudging). Else
    anything it missed is found only by looking again (PostgreSQL: an older transaction was
    still running, or another process appends)."""


_MADE_EVENTS_ON_THE_LOOP = 4
"""Rows of a read made events right away: a thread's hand-off costs more than a few."""


@dataclass(frozen=True)
class _Appended:
    recorded: list[RecordedEvent]
    effects_done_by: tuple[str, ...] = ()


Outcome = _Appended | Exception


@dataclass(frozen=True)
class _Append:
    stream_id: uuid.UUID
    expected_version: int
    events: tuple[NewEvent, ...]
    metadata: EventMetadata
    claim: Claim | None = None

    def rows(self) -> list[dict[str, Any]]:
        meta = self.metadata.model_dump(mode="json")
        return [
            {
                "stream_id": self.stream_id,
                "version": self.expected_version + offset,
                "event_id": new.event_id,
                "event_type": new.event.event_type,
                "schema_version": new.event.schema_version,
                "data": encode(new.event),
                "metadata": meta,
                "occurred_at": new.occurred_at,
            }
            for offset, new in enumerate(self.events, start=1)
        ]


class SqlEventLog:
    """`catalog.ports.EventLog` on a SQL database."""

    def __init__(
        self,
        database: Database,
        projections: Sequence[Projection] = (),
        quota_limits: QuotaLimits | None = None,
        effects: InlineConsumers | None = None,
    ) -> None:
        self.database = database
        self.quota_limits = quota_limits or QuotaLimits()
        self.projections = tuple(projections)
        self.effects = effects
        """Consumers that do their effects in the appending transaction, where they can."""
        self.appended = Wakeup()
        """Nudged after every append of this process, for readers tailing the log."""
        self.postgres = database.postgres
        # SQLite has one writer: appends that queue up while one is written commit together,
        # sharing one fsync (PostgreSQL's own group commit does that for concurrent transactions).
        self._group_commit = (
            None if self.postgres else GroupCommit(self._append_together, self._append_alone)
        )
        # SQLite's positions commit in order: this process's readers take its own new events
        # from memory rather than reading each of them back once per reader.
        self._recent = None if self.postgres else RecentAppends()
        # PostgreSQL's tails wait for this process's next append once they have read all
        # that is there and only its appends turn up; then they need to know which are its own.
        self._own = OwnAppends() if self.postgres else None
        self._reading: dict[tuple[LogCursor, int], asyncio.Future[TailRead]] = {}
        self._appending = 0
        """Appends of this process begun and not yet announced to the tails (`appended`)."""

    async def load_stream(
        self, stream_id: uuid.UUID, after_version: int = 0
    ) -> list[RecordedEvent]:
        if after_version:
            params = {"s": stream_id, "v": after_version}
            return _events_of_rows(await self.database.fetch(_STREAM_AFTER, params))
        return _events_of_rows(await self.database.fetch(_STREAM, {"s": stream_id}))

    async def append(
        self,
        stream_id: uuid.UUID,
        expected_version: int,
        events: Sequence[NewEvent],
        metadata: EventMetadata,
        claim: Claim | None = None,
    ) -> list[RecordedEvent]:
        request = _Append(stream_id, expected_version, tuple(events), metadata, claim)
        self._appending += 1
        try:
            with LIVE_WORK.running():
                if self._group_commit is not None:
                    appended = await self._group_commit.submit(request)
                else:
                    appended = await self._append_alone(request)
            recorded = appended.recorded
            if self._recent is not None:
                self._recent.committed(recorded)
            if self._own is not None:
                self._own.committed(recorded)
            if self.effects is not None:
                self.effects.committed(recorded, appended.effects_done_by)
            self.appended.notify()
            return recorded
        finally:
            self._appending -= 1

    async def _append_alone(self, request: _Append) -> _Appended:
        """One append in its own transaction; the unique (stream, version) decides conflicts."""
        try:
            return await self.database.write(self._write, request)
        except sa.exc.IntegrityError as e:
            if "uq_event_stream_id_version" in str(e.orig) or "event.stream_id" in str(e.orig):
                raise ConcurrencyConflict(str(request.stream_id), request.expected_version) from e
            raise
        except asyncpg.UniqueViolationError as e:  # the driver's own insert (`_PG_INSERT_EVENT`)
            if e.constraint_name == "uq_event_stream_id_version":
                raise ConcurrencyConflict(str(request.stream_id), request.expected_version) from e
            raise

    async def _append_together(self, batch: Sequence[_Append]) -> list[Outcome]:
        return await self.database.write(self._write_together, batch)

    def _write_together(self, conn: sa.Connection, batch: Sequence[_Append]) -> list[Outcome]:
        """Several appends in one transaction, so they share one commit and one fsync.

        Only for SQLite, whose single writer makes checking each stream's version and then
        inserting free of races.
        """
        outcomes: list[Outcome] = []
        versions: dict[uuid.UUID, int] = {}
        for request in batch:
            current = versions.get(request.stream_id)
            if current is None:
                current = conn.execute(_STREAM_VERSION, {"s": request.stream_id}).scalar_one()
            if current != request.expected_version:
                outcomes.append(
                    ConcurrencyConflict(str(request.stream_id), request.expected_version)
                )
                versions[request.stream_id] = current
                continue
            try:
                outcomes.append(self._write(conn, request))
            except CatalogError as e:  # a claim refused this one; the others still commit
                outcomes.append(e)
                versions[request.stream_id] = current
                continue
            versions[request.stream_id] = request.expected_version + len(request.events)
        return outcomes

    def _write(self, conn: sa.Connection, request: _Append) -> _Appended:
        if request.claim is not None:
            # Before any insert: a refused claim leaves the transaction untouched.
            enforce_claim(conn, request.claim, self.quota_limits)
        rows = request.rows()
        if self.postgres and len(rows) == 1:
            positions = [position for (position,) in _PG_INSERT_EVENT.fetch_in(conn, rows[0])]
        else:
            positions = list(conn.execute(_INSERT_EVENTS, rows).scalars())
        recorded = [
            RecordedEvent(position=p, commit_order=0, **{**row, "metadata": request.metadata})
            for p, row in zip(positions, rows, strict=True)
        ]
        events = [new.event for new in request.events]
        self._project_new(conn, recorded, events)
        if self.effects is None:
            return _Appended(recorded)
        return _Appended(recorded, self.effects.apply(conn, recorded, events))

    def project(self, conn: sa.Connection, recorded: Sequence[RecordedEvent]) -> None:
        """Apply events read from the log to every projection, on the caller's transaction."""
        decoded = [decode(r.event_type, r.schema_version, r.data) for r in recorded]
        self._project_new(conn, recorded, decoded)

    def project_batch(
        self,
        conn: sa.Connection,
        events: Sequence[ReplayEvent],
        tables: Mapping[str, sa.Table] | None = None,
        new_streams: Set[uuid.UUID] = frozenset(),
    ) -> None:
        """Apply replayed events to every projection's batch path, on the caller's
        transaction (`prepare_batch`, then its write)."""
        self.prepare_batch(events, tables, new_streams)(conn)

    def prepare_batch(
        self,
        events: Sequence[ReplayEvent],
        tables: Mapping[str, sa.Table] | None = None,
        new_streams: Set[uuid.UUID] = frozenset(),
    ) -> Callable[[sa.Connection], None]:
        """Replayed events made ready for every projection's batch path, without the
        database (`Projection.prepare_batch`: into `tables`, live table name to its stand-in,
        when given; `new_streams` as it takes them); returns their write, for the caller's
        transaction, which must be the only one writing to the tables: new rows are added by
        COPY on PostgreSQL."""
        insert = copy_rows if self.postgres else insert_rows
        writes = [
            p.prepare_batch(events, tables, new_streams=new_streams) for p in self.projections
        ]

        def write(conn: sa.Connection) -> None:
            for projection_write in writes:
                projection_write(conn, insert)

        return write

    def hold_appends(self, conn: sa.Connection) -> None:
        """Make new appends wait until `conn`'s transaction ends; appends already in flight
        commit first (PostgreSQL: a lock on the log that conflicts only with writers, so
        readers go on; SQLite: the caller's write transaction already excludes every writer)."""
        if self.postgres:
            conn.execute(_PG_HOLD_APPENDS)

    def _project_new(
        self,
        conn: sa.Connection,
        recorded: Sequence[RecordedEvent],
        events: Sequence[DomainEvent],
    ) -> None:
        for r, domain_event in zip(recorded, events, strict=True):
            for projection in self.projections:
                projection.apply(conn, r, domain_event)

    async def read(self, after: LogCursor, limit: int) -> list[RecordedEvent]:
        return (await self.read_tail(after, limit)).events

    async def read_tail(self, after: LogCursor, limit: int) -> TailRead:
        """`read`, for a reader that follows the log: with whether it has caught up."""
        if self._recent is not None:
            events = self._recent.after(after.position, limit)
            if events is None:
                # SQLite's work already runs beside the event loop
                events = await self.database.read(_read_after, after, limit)
            # One writer, whose commits are visible at once and nudge the readers here.
            return TailRead(events, caught_up=len(events) < limit)
        # The consumers of a process tail the log from the same place, woken by the same
        # appends: a read from a place another reader is reading from joins that read.
        key = (after, limit)
        reading = self._reading.get(key)
        if reading is None:
            reading = asyncio.ensure_future(self._read_rows(after, limit))
            self._reading[key] = reading
            reading.add_done_callback(lambda done: self._read_ended(key, done))
        read = await asyncio.shield(reading)
        return TailRead(list(read.events), read.caught_up)

    async def _read_rows(self, after: LogCursor, limit: int) -> TailRead:
        assert isinstance(self.database, PostgresDatabase)
        params = {**_pg_cursor(after), "limit": limit}
        rows = await self.database.read_held(_PG_READ_ON_DRIVER, params)
        if len(rows) <= _MADE_EVENTS_ON_THE_LOOP:
            events = _events_of_rows(rows)
        else:
            # The read runs on the event loop: many rows are made events in a thread, so a
            # long read (a consumer catching up) holds the loop for its round trip only, and
            # the thread gives way to the requests the process serves meanwhile.
            events = await asyncio.to_thread(made_giving_way, _events_of_rows, rows)
        all_seen = bool(rows) and bool(rows[-1][-1])
        return TailRead(events, self.caught_up(events, limit, all_seen=all_seen))

    def caught_up(self, rows: Sequence[Positioned], limit: int, *, all_seen: bool) -> bool:
        """Whether a reader that read `rows` (at most `limit`) of the log on PostgreSQL, its
        read saying whether it saw every commit (`PG_ALL_SEEN`), may wait for this process's
        next append before it looks again (`TailRead.caught_up`)."""
        if self._own is None or self._appending:
            # An append of this process may have committed and not yet nudged: on a busy event
            # loop its task runs on only after a while, and a tail that waited for its nudge
            # would wait that long. Looking again finds it as soon as it is committed.
            return False
        positions = (row.position for row in rows)
        return 0 < len(rows) < limit and all_seen and self._own.hold_all(positions)

    def _read_ended(self, key: tuple[LogCursor, int], done: asyncio.Future[TailRead]) -> None:
        self._reading.pop(key, None)
        if not done.cancelled():
            done.exception()  # seen here too, should every reader have left meanwhile


class EarlierEvent(NamedTuple):
    """An event of a stream's history read back to fold the stream again: what folding needs,
    nothing else (no metadata parsed, no envelope validated: a consumer catching up reads many
    streams' histories)."""

    event_type: str
    schema_version: int
    data: dict[str, Any]
    occurred_at: datetime


def load_streams_between(
    conn: sa.Connection, between: Mapping[uuid.UUID, tuple[int, int]]
) -> dict[uuid.UUID, list[EarlierEvent]]:
    """The events of each stream in `between` after the first of its versions and before the
    second, in order (for a consumer's folds: a stream's history, or what came after the state
    it kept of it): on PostgreSQL in one statement, whatever the number of streams."""
    found: dict[uuid.UUID, list[EarlierEvent]] = {stream_id: [] for stream_id in between}
    if not between:
        return found
    if conn.dialect.name == "postgresql":
        afters, befores = zip(*between.values(), strict=True)
        bounds = {"ids": list(between), "afters": list(afters), "befores": list(befores)}
        rows = list(conn.execute(_PG_STREAMS_BETWEEN, bounds))
    else:  # in-process: a statement per stream costs next to nothing
        rows = [
            row
            for stream_id, (after, before) in between.items()
            for row in conn.execute(_IN_STREAM_BETWEEN, {"s": stream_id, "a": after, "b": before})
        ]
    for stream_id, *earlier in rows:
        found[stream_id].append(EarlierEvent(*earlier))
    return found


_EARLIER = (
    event.c.stream_id,
    event.c.event_type,
    event.c.schema_version,
    event.c.data,
    event.c.occurred_at,
)
_IN_STREAM_BETWEEN = (
    sa.select(*_EARLIER)
    .where(
        event.c.stream_id == sa.bindparam("s"),
        event.c.version > sa.bindparam("a"),
        event.c.version < sa.bindparam("b"),
    )
    .order_by(event.c.version)
)
# Each stream's events found by the (stream, version) key, whatever the log held when the
# statement was planned: the lookup's `OFFSET 0` keeps it apart from the list of streams, so no
# plan joins the two by scanning the whole log (which a generic plan made on a near-empty log did
# for every batch, until the log's statistics were next gathered).
_PG_STREAMS_BETWEEN = (
    sa.text(
        "SELECT " + ", ".join(f"e.{c.name}" for c in _EARLIER) + " FROM"
        " unnest(:ids, :afters, :befores) AS bound(stream_id, after, before) CROSS JOIN LATERAL"
        " (SELECT version, " + ", ".join(c.name for c in _EARLIER) + " FROM event"
        "  WHERE event.stream_id = bound.stream_id"
        "  AND event.version > bound.after AND event.version < bound.before OFFSET 0) AS e"
        " ORDER BY e.stream_id, e.version"
    )
    .bindparams(
        sa.bindparam("ids", type_=sa.ARRAY(sa.Uuid)),
        sa.bindparam("afters", type_=sa.ARRAY(sa.Integer)),
        sa.bindparam("befores", type_=sa.ARRAY(sa.Integer)),
    )
    .columns(*_EARLIER)
)


def _read_after(conn: sa.Connection, after: LogCursor, limit: int) -> list[RecordedEvent]:
    """SQLite's read of the log (the events made in the reader's thread)."""
    return _events_of_rows(conn.execute(_SQLITE_READ, {"position": after.position, "limit": limit}))


def _events_of_rows(rows: Iterable[Sequence[Any]]) -> list[RecordedEvent]:
    """The events of rows whose first columns are `_COLUMNS` and the commit order, in that
    order (as `Database.fetch` gives them; a read's `all_seen` may follow)."""
    return [
        RecordedEvent(
            position=row[0],
            stream_id=row[1],
            version=row[2],
            event_id=row[3],
            event_type=row[4],
            schema_version=row[5],
            data=row[6],
            metadata=EventMetadata.model_validate(row[7]),
            occurred_at=row[8],
            commit_order=row[9],
        )
        for row in rows
    ]


def rows_after(
    conn: sa.Connection,
    statements: tuple[sa.Executable, sa.Executable],
    after: LogCursor,
    limit: int,
) -> sa.CursorResult[Any]:
    """Run the (PostgreSQL, SQLite) pair of never-skipping reads of a table kept in commit
    order (the log, the notifications outbox): at most `limit` rows after `after`."""
    postgres_read, sqlite_read = statements
    if conn.dialect.name == "postgresql":
        return conn.execute(postgres_read, {**_pg_cursor(after), "limit": limit})
    return conn.execute(sqlite_read, {"position": after.position, "limit": limit})


def _pg_cursor(after: LogCursor) -> dict[str, Any]:
    """The cursor's parameters of a PostgreSQL read (`pg_log_read`)."""
    return {"commit_order": str(after.commit_order), "position": after.position}


R = TypeVar("R")


def made_with_all_seen(rows: Iterable[sa.Row[Any]], make: Callable[..., R]) -> tuple[list[R], bool]:
    """Rows of a read that selects `PG_ALL_SEEN` last (on SQLite: false), each made by `make`
    from its other columns by name; with the read's `all_seen` (false if it found nothing)."""
    made = []
    all_seen = False
    for row in rows:
        fields = row._asdict()
        all_seen = fields.pop("all_seen")
        made.append(make(**fields))
    return made, bool(all_seen)


def recorded_event(row: sa.Row[Any]) -> RecordedEvent:
    """The event of a row of the log, as selected by this module's statements (a column that
    is not the event's, such as a read's `all_seen`, is left out)."""
    values = {name: row._mapping[name] for name in _EVENT_FIELDS}
    values["metadata"] = EventMetadata.model_validate(values["metadata"])
    return RecordedEvent(**values)


_EVENT_FIELDS = tuple(RecordedEvent.model_fields)


class Positioned(Protocol):
    """A row read in commit order: an event of the log, or a notification of the outbox."""

    @property
    def commit_order(self) -> int: ...

    @property
    def position(self) -> int: ...


def cursor_after(events: Sequence[Positioned], current: LogCursor) -> LogCursor:
    """The cursor just past the last of `events` (or `current` if there are none)."""
    if not events:
        return current
    last = events[-1]
    return LogCursor(last.commit_order, last.position)
