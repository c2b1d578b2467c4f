"""Running database work from the event loop: one unit of work, one hop.

Projections, queries and the log's writes are plain synchronous SQLAlchemy Core functions of a
`Connection`. This module runs such a function without blocking the event loop:

- PostgreSQL: on the asyncpg pool, through SQLAlchemy's greenlet bridge (`run_sync`): the
  statements still run asynchronously, and the bridge is crossed once per unit of work. A
  write's transaction is the driver's own, begun and committed on the asyncpg connection under
  a SQLAlchemy connection left in autocommit: the work's SQLAlchemy statements and the log's
  `DriverStatement`s (driver.py) run in it alike. The log's tails read on a connection of
  their own (`held_reads`).
- SQLite: in worker threads on plain sqlite3 connections. SQLite has one writer at a time, so
  writes go to a single thread (nothing in this process ever waits on the file lock) and begin
  `IMMEDIATE` (another process writing meanwhile makes us wait, never fail half-way). Reads run
  on a few threads of their own beside it (WAL). A whole unit of work costs one thread hop,
  where an async driver would pay one per statement. Each thread keeps its connection open:
  a unit of work does not pay for taking one from a pool and handing it back.

Either way, a database that cannot be reached raises `DatabaseUnavailable`, and one whose
connections stay all in use beyond the pool's timeout `DatabaseBusy` (see availability.py); the
work's own errors pass through unchanged.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import functools
import threading
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Concatenate, ParamSpec, TypeVar

import asyncpg
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from catalog.errors import DatabaseUnavailable
from infra.db.availability import Availability, postgres_outage, sqlite_outage
from infra.db.driver import DriverStatement, HeldConnection
from infra.db.lent_connections import LentConnections

P = ParamSpec("P")
T = TypeVar("T")

Work = Callable[Concatenate[sa.Connection, P], T]

SQLITE_READ_THREADS = 4
OUTAGE_PAUSE_SECONDS = 1.0
"""How often work waiting for the database to come back asks whether it has."""
SQLITE_BUSY_SECONDS = 10.0
"""How long SQLite work waits for another process's write lock before the database counts as
unavailable."""


def sqlite_path(url: str) -> str | None:
    """The file of a `sqlite:///` URL (any driver), or None for other databases."""
    scheme, _, rest = url.partition(":///")
    return rest if scheme.split("+")[0] == "sqlite" else None


def postgres_async_url(url: str) -> str:
    """Accept plain `postgresql://` URLs and pick the asyncpg driver."""
    scheme, _, rest = url.partition("://")
    if scheme in ("postgresql", "postgres"):
        return "postgresql+asyncpg://" + rest
    return url


@dataclass(frozen=True)
class Pool:
    """The PostgreSQL connections a process keeps (as many again when busy), and how long work
    waits for one when all are in use before it fails with `DatabaseBusy` (SQLite: unused)."""

    size: int = 10
    timeout_seconds: float = 10.0


def open_database(url: str, *, pool: Pool = Pool()) -> Database:
    """The database at `url`: PostgreSQL, or a SQLite file."""
    path = sqlite_path(url)
    if path is None:
        return PostgresDatabase(url, pool=pool)
    return SqliteDatabase(url, path)


class Database(abc.ABC):
    """The catalog's database: `write` runs a function in a transaction, `read` without one.

    Both raise `DatabaseUnavailable` when the database cannot be reached; `availability` tells
    the log when that starts and ends.
    """

    postgres: bool

    def __init__(self, url: str, is_outage: Callable[[BaseException], bool]) -> None:
        self.url = url
        self.availability = Availability(self.display_url, is_outage)

    @property
    def display_url(self) -> str:
        """The URL without its password, for logs."""
        return sa.make_url(self.url).render_as_string(hide_password=True)

    async def write(self, work: Work[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run `work(connection, ...)` in a transaction, committed when it returns."""
        with self.availability.watch():
            return await self._write(True, work, *args, **kwargs)

    async def write_derived(self, work: Work[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """`write` for data derived from the log (a consumer's effects and its place): the
        commit does not wait for the disk. A crash of the machine may lose the last such
        commits, never a part of one, and never one without those before it (the database's
        journal is kept in order); the consumer then does them again from the log. A commit
        of the log itself waits, and makes every commit before it durable too."""
        with self.availability.watch():
            return await self._write(False, work, *args, **kwargs)

    async def read(self, work: Work[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run `work(connection, ...)` outside any transaction (each statement stands alone)."""
        with self.availability.watch():
            return await self._read(work, *args, **kwargs)

    @abc.abstractmethod
    async def fetch(
        self, statement: DriverStatement, params: Mapping[str, Any]
    ) -> list[tuple[Any, ...]]:
        """The rows of one query, outside any transaction: on PostgreSQL on the driver
        directly (driver.py), elsewhere as `read` runs it."""

    @abc.abstractmethod
    async def _write(
        self, durable: bool, work: Work[P, T], *args: P.args, **kwargs: P.kwargs
    ) -> T: ...

    @abc.abstractmethod
    async def _read(self, work: Work[P, T], *args: P.args, **kwargs: P.kwargs) -> T: ...

    async def first_contact(self) -> None:
        """Reach the database once, outside `availability`: it fails with the driver's own
        error, which a process that never reached its database tells as it stops (there is
        no outage to log: the database was never there)."""
        await self._read(_answer)

    async def wait_until_available(self) -> None:
        """Return once the database answers (after an outage: once it is back)."""
        while True:
            with contextlib.suppress(DatabaseUnavailable):
                await self.read(_answer)
                return
            await asyncio.sleep(OUTAGE_PAUSE_SECONDS)

    @abc.abstractmethod
    async def close(self) -> None: ...


class PostgresDatabase(Database):
    postgres = True

    def __init__(self, url: str, *, pool: Pool) -> None:
        super().__init__(url, postgres_outage)
        # No pre-ping: it would cost a round trip per checkout; a dead connection fails its
        # statement and is replaced, and pool_recycle retires connections before servers
        # time them out.
        self.async_engine = create_async_engine(
            postgres_async_url(url),
            pool_size=pool.size,
            max_overflow=pool.size,
            pool_timeout=pool.timeout_seconds,
            pool_recycle=_RECYCLE_SECONDS,
        )
        """The asyncpg engine, also for work that needs a session of its own (the relay lock)."""
        # Queries need no transaction around them: autocommit spares a BEGIN and a ROLLBACK.
        # Writes begin theirs on the driver (`_write`).
        autocommit = self.async_engine.execution_options(isolation_level="AUTOCOMMIT")
        self._connections = LentConnections(
            autocommit, keep=pool.size, most=2 * pool.size, recycle_seconds=_RECYCLE_SECONDS
        )
        self.held_reads = HeldConnection(url)
        """The connection the log's tails read on, one read at a time."""

    async def _write(self, durable: bool, work: Work[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        async with self._connections.lend() as lent:
            conn, driver = lent.conn, lent.driver
            transaction: asyncpg.transaction.Transaction | None = None
            try:
                transaction = driver.transaction()  # fails at once if closed meanwhile
                await transaction.start()
                if not durable:
                    await driver.execute(_ASYNCHRONOUS_COMMIT)
                done = await conn.run_sync(work, *args, **kwargs)
                await transaction.commit()
                return done
            except BaseException:
                if transaction is None or not await _rolled_back(transaction):
                    # Its state unknown: not to be handed out again (`lend` tells a lost
                    # connection as an outage). The error to tell is the first.
                    await conn.invalidate()
                raise

    async def _read(self, work: Work[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        async with self._connections.lend() as lent:
            return await lent.conn.run_sync(work, *args, **kwargs)

    async def fetch(
        self, statement: DriverStatement, params: Mapping[str, Any]
    ) -> list[tuple[Any, ...]]:
        with self.availability.watch():
            async with self._connections.lend() as lent:
                return await statement.fetch(lent.driver, params)

    async def read_held(
        self, statement: DriverStatement, params: Mapping[str, Any]
    ) -> list[tuple[Any, ...]]:
        """The rows of `statement` run on `held_reads`, outside any transaction."""
        with self.availability.watch():
            return await self.held_reads.fetch(statement, params)

    async def close(self) -> None:
        await self.held_reads.close()
        await self._connections.close()
        await self.async_engine.dispose()


class SqliteDatabase(Database):
    postgres = False

    def __init__(self, url: str, path: str, *, busy_seconds: float = SQLITE_BUSY_SECONDS) -> None:
        super().__init__(url, sqlite_outage)
        self._writes = ThreadConnections(
            _sqlite_engine(path, begin="BEGIN IMMEDIATE", busy_seconds=busy_seconds)
        )
        self._reads = ThreadConnections(_sqlite_engine(path, begin=None, busy_seconds=busy_seconds))
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="sqlite-write")
        self._readers = ThreadPoolExecutor(SQLITE_READ_THREADS, thread_name_prefix="sqlite-read")

    async def _write(self, durable: bool, work: Work[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        transaction = _in_transaction if durable else _in_transaction_not_synced
        run = functools.partial(transaction, self._writes, work, args, kwargs)
        return await asyncio.get_running_loop().run_in_executor(self._writer, run)

    async def _read(self, work: Work[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        run = functools.partial(_on_connection, self._reads, work, args, kwargs)
        return await asyncio.get_running_loop().run_in_executor(self._readers, run)

    async def fetch(
        self, statement: DriverStatement, params: Mapping[str, Any]
    ) -> list[tuple[Any, ...]]:
        return await self.read(_rows_of, statement.statement, params)

    async def close(self) -> None:
        for executor in (self._writer, self._readers):
            executor.shutdown(wait=True)
        for connections in (self._writes, self._reads):
            connections.close()


class ThreadConnections:
    """One connection of `engine` per thread, opened on the thread's first use and kept: the
    threads of a SQLite database's executors are few and long-lived."""

    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine
        self._local = threading.local()
        self._opened: list[sa.Connection] = []
        self._lock = threading.Lock()

    def get(self) -> sa.Connection:
        conn: sa.Connection | None = getattr(self._local, "conn", None)
        if conn is None or conn.closed or conn.invalidated:
            conn = self._engine.connect()
            self._local.conn = conn
            with self._lock:
                self._opened.append(conn)
        return conn

    def close(self) -> None:
        """Once the threads are done with them."""
        with self._lock:
            opened, self._opened = self._opened, []
        for conn in opened:
            conn.close()
        self._engine.dispose()


async def run_through_outages(database: Database, job: Callable[[], Awaitable[None]]) -> None:
    """Run `job` until it returns, starting it again whenever the database goes away under it.

    For background work that holds something only a working database gives (a lock, a place in
    the log): it gives it up with the outage and takes it again once the database is back. The
    outage is the database's to log; waiting for it to end is not worth a line.
    """
    while True:
        try:
            return await job()
        except DatabaseUnavailable:
            await database.wait_until_available()


_RECYCLE_SECONDS = 1800.0
"""How long a connection is used before it is retired (servers and firewalls end idle ones)."""
_ASYNCHRONOUS_COMMIT = "SET LOCAL synchronous_commit = off"
"""PostgreSQL's own name for a commit that does not wait for the disk."""


async def _rolled_back(transaction: asyncpg.transaction.Transaction) -> bool:
    """Whether a write's transaction could be rolled back after its work failed (false when
    its connection broke, or it had ended already)."""
    try:
        await transaction.rollback()
    except Exception:  # whatever it was, the connection's state is not known: not used again
        return False
    return True


def _rows_of(
    conn: sa.Connection, statement: sa.Executable, params: Mapping[str, Any]
) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in conn.execute(statement, params)]


def _answer(conn: sa.Connection) -> None:
    conn.execute(sa.text("SELECT 1"))


def _in_transaction(connections: ThreadConnections, work: Work[P, T], args: Any, kwargs: Any) -> T:
    conn = connections.get()
    with conn.begin():
        return work(conn, *args, **kwargs)


def _in_transaction_not_synced(
    connections: ThreadConnections, work: Work[P, T], args: Any, kwargs: Any
) -> T:
    """A transaction whose commit leaves the journal to the operating system: the next commit
    that does sync it (any of the log's) makes this one durable too."""
    conn = connections.get()
    driver = conn.connection.driver_connection
    assert driver is not None
    driver.execute("PRAGMA synchronous=NORMAL")
    try:
        with conn.begin():
            return work(conn, *args, **kwargs)
    finally:
        driver.execute("PRAGMA synchronous=FULL")


def _on_connection(connections: ThreadConnections, work: Work[P, T], args: Any, kwargs: Any) -> T:
    # Without a BEGIN each statement stands alone; the transaction SQLAlchemy opens around
    # them costs nothing on SQLite's side, and ends here so the next work starts afresh.
    conn = connections.get()
    with conn.begin():
        return work(conn, *args, **kwargs)


def _sqlite_engine(path: str, *, begin: str | None, busy_seconds: float) -> sa.Engine:
    """A sqlite3 engine whose connections may move between threads (one user at a time).

    The driver's own transaction handling is turned off: `begin` (if any) is what a transaction
    starts with, and without it every statement commits by itself.
    """
    engine = sa.create_engine(
        f"sqlite:///{path}", connect_args={"check_same_thread": False, "isolation_level": None}
    )
    sa.event.listen(engine, "connect", functools.partial(_sqlite_pragmas, busy_seconds))
    if begin is not None:
        # On the driver's connection: through SQLAlchemy, a statement costs more than the
        # transaction it begins.
        def start(conn: sa.Connection) -> None:
            conn.connection.driver_connection.execute(begin)  # type: ignore[union-attr]

        sa.event.listen(engine, "begin", start)
    return engine


def _sqlite_pragmas(busy_seconds: float, dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers run beside the one writer; FULL makes a commit durable when it returns.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute(f"PRAGMA busy_timeout={round(busy_seconds * 1000)}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
