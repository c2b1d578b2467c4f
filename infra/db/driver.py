"""PostgreSQL's driver (asyncpg) used directly, on the paths every write and every tail takes.

Through SQLAlchemy a statement costs several times what the driver itself spends on it: the
execution context, parameter and result processing per row, the DB-API adapter's cursor, the
greenlet bridge; and a connection taken from the pool and handed back costs as much again
(measured in docs/performance.md, "Where a create's CPU goes on PostgreSQL"). The log's own
statements (its appends, its tails' reads, what the inline consumers record) run that path
thousands of times a second, so they skip it:

- `DriverStatement`: a SQLAlchemy Core statement compiled once for asyncpg. Its parameters
  and results still go through the statement's own types (SQLAlchemy's bind and result
  processors, found through the public type API), so a value is written and read back exactly
  as SQLAlchemy would; only the machinery around them is left out.
- `HeldConnection`: one connection a process keeps for its log readers, used by one read at a
  time, opened again after a failure.

Everything else (projections, queries, migrations) stays on SQLAlchemy: statements of both
kinds share a transaction (see `PostgresDatabase` in database.py).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import asyncpg
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.util import await_only

Processor = Callable[[Any], Any] | None

DATABASE_ERRORS: tuple[type[Exception], ...] = (
    sa.exc.SQLAlchemyError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,  # the connection's state, or its loss (ConnectionDoesNotExistError)
    asyncpg.InternalClientError,
    OSError,
)
"""What a statement run through SQLAlchemy or on the driver raises when the database (not the
work) failed: code that keeps going after its own errors inside a unit of work must let these
through, since the transaction cannot go on after them."""

_DIALECT = asyncpg_dialect()  # type: ignore[no-untyped-call]


class DriverStatement:
    """`statement` as asyncpg runs it; a parameter missing from a call is an error, never a
    default (an INSERT is compiled for the columns named in `columns`, or all of them)."""

    def __init__(self, statement: sa.Executable, *, columns: Sequence[str] | None = None) -> None:
        self.statement = statement
        """As SQLAlchemy runs it (on SQLite, where there is no driver to go to)."""
        compiled = statement.compile(  # type: ignore[attr-defined]
            dialect=_DIALECT, column_keys=list(columns) if columns is not None else None
        )
        self.sql: str = compiled.string
        self._names: tuple[str, ...] = tuple(compiled.positiontup or ())
        binds = compiled.binds
        self._fixed = {
            name: binds[name].effective_value for name in self._names if not binds[name].required
        }
        """Values the statement carries itself (a literal, a `limit`)."""
        self._binds: tuple[Processor, ...] = tuple(
            _bind_processor(binds[name].type) for name in self._names
        )
        exported = getattr(statement, "exported_columns", ())
        results = tuple(_result_processor(column.type) for column in exported)
        self._results: tuple[Processor, ...] | None = results if any(results) else None
        """Each column's result processor; None when no column has one."""

    def arguments(self, params: Mapping[str, Any]) -> list[Any]:
        """The positional arguments of one run, each processed as its type binds it."""
        if self._fixed:
            params = {**self._fixed, **params}
        return [
            params[name] if process is None else process(params[name])
            for name, process in zip(self._names, self._binds, strict=True)
        ]

    def rows(self, records: Sequence[asyncpg.Record]) -> list[tuple[Any, ...]]:
        """The rows of a run, each value processed as its column's type reads it."""
        processors = self._results
        if processors is None:
            return [tuple(record) for record in records]
        return [
            tuple(
                value if process is None else process(value)
                for value, process in zip(record, processors, strict=True)
            )
            for record in records
        ]

    async def fetch(
        self, driver: asyncpg.Connection, params: Mapping[str, Any]
    ) -> list[tuple[Any, ...]]:
        return self.rows(await driver.fetch(self.sql, *self.arguments(params)))

    def fetch_in(self, conn: sa.Connection, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """The rows of a run on `conn`, from inside a unit of work (`Database.write`, whose
        transaction it joins)."""
        return self.rows(await_only(driver_of(conn).fetch(self.sql, *self.arguments(params))))

    def execute_in(self, conn: sa.Connection, params: Mapping[str, Any]) -> None:
        """A run on `conn` from inside a unit of work, for its changes alone."""
        await_only(driver_of(conn).execute(self.sql, *self.arguments(params)))


class ConnectionLost(ConnectionError):
    """A statement on the driver failed with the connection under it: closed, or in a state
    its protocol cannot go on from (what SQLAlchemy reports as an invalidated connection). An
    outage to `Availability`, as any `OSError`."""


def lost_connection(error: BaseException, driver: asyncpg.Connection) -> bool:
    """Whether `error`, met on `driver`, left it unusable."""
    return driver.is_closed() or isinstance(
        error, asyncpg.InterfaceError | asyncpg.InternalClientError
    )


def driver_of(conn: sa.Connection) -> asyncpg.Connection:
    """The asyncpg connection under a SQLAlchemy connection of `PostgresDatabase.write`, in
    the transaction the write began on it (a statement run outside one would commit alone)."""
    driver = conn.connection.driver_connection
    assert isinstance(driver, asyncpg.Connection)
    assert driver.is_in_transaction()
    return driver


class HeldConnection:
    """A connection kept open for one reader at a time: a read costs its round trip only, not
    a connection taken from a pool and handed back. Opened on first use; after any failure it
    is closed, and the next use opens a new one (the failure itself is the caller's)."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._connection: asyncpg.Connection | None = None
        self._lock = asyncio.Lock()

    async def fetch(
        self, statement: DriverStatement, params: Mapping[str, Any]
    ) -> list[tuple[Any, ...]]:
        async with self._lock:
            driver = self._connection
            if driver is None or driver.is_closed():
                driver = self._connection = await connect(self._url)
            try:
                return await statement.fetch(driver, params)
            except BaseException as error:
                self._connection = None
                driver.terminate()
                if isinstance(error, Exception) and lost_connection(error, driver):
                    raise ConnectionLost(str(error)) from error
                raise

    async def close(self) -> None:
        async with self._lock:
            if self._connection is not None:
                await self._connection.close()
                self._connection = None


async def connect(url: str) -> asyncpg.Connection:
    """A connection of its own to the database at `url` (a `postgresql://` URL of any driver),
    opened with the arguments SQLAlchemy's engine would give asyncpg for it, which reads JSON as
    the engine's connections do (parsed by the driver: the JSON types have no result processor
    on asyncpg) and takes it as the text their bind processors make."""
    asyncpg_url = sa.make_url(url).set(drivername="postgresql+asyncpg")
    args, kwargs = _DIALECT.create_connect_args(asyncpg_url)  # type: ignore[no-untyped-call]
    for engine_only in _ENGINE_ONLY_ARGUMENTS:
        kwargs.pop(engine_only, None)
    driver = await asyncpg.connect(*args, **kwargs)
    for name in ("json", "jsonb"):
        await driver.set_type_codec(
            name, encoder=_as_text, decoder=json.loads, schema="pg_catalog", format="text"
        )
    return driver


_ENGINE_ONLY_ARGUMENTS = (
    "async_fallback",
    "async_creator_fn",
    "prepared_statement_cache_size",
    "prepared_statement_name_func",
)
"""URL options SQLAlchemy's asyncpg dialect takes for itself, not asyncpg's."""


def _as_text(value: str) -> str:
    return value


def _bind_processor(type_: sa.types.TypeEngine[Any]) -> Processor:
    return type_.dialect_impl(_DIALECT).bind_processor(_DIALECT)


def _result_processor(type_: sa.types.TypeEngine[Any]) -> Processor:
    return type_.dialect_impl(_DIALECT).result_processor(_DIALECT, None)
