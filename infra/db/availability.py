"""Telling a database that cannot be reached from work that went wrong on it.

Only the driver's errors say which is which, so the database adapter decides, here. The database
is unavailable when a connection is refused, reset or closed under the work, the server is
shutting down, starting up or out of connections (PostgreSQL); or when the file stays locked
by another process beyond the busy timeout, cannot be opened, read or written, or its disk is
full (SQLite). Such work may succeed later: callers
get `DatabaseUnavailable` (a 503 with `Retry-After` over HTTP), and the log says so once when
the database goes away and once when it is back, however many requests and background jobs
meet the outage meanwhile. Anything else (a constraint violated, an SQL error) is the work's
own failure and passes through unchanged. A pool that had no connection to give in time is no
outage: the work fails with `DatabaseBusy` (also a 503), and nothing is logged for it.
"""

from __future__ import annotations

import contextlib
import contextvars
import sqlite3
import time
from collections.abc import Callable, Iterator

import sqlalchemy as sa
import structlog

from catalog.errors import DatabaseBusy, DatabaseUnavailable
from infra.operator_errors import in_words

log = structlog.get_logger(__name__)

# SQLSTATE: connection exceptions (08…) and insufficient resources (53…: too many connections,
# out of memory, disk full), and a server that is going down or not yet up.
_PG_UNAVAILABLE_CLASSES = ("08", "53")
_PG_UNAVAILABLE_STATES = frozenset({"57P01", "57P02", "57P03"})

# SQLite's primary result codes: BUSY, LOCKED, IOERR, FULL, CANTOPEN.
_SQLITE_UNAVAILABLE_CODES = frozenset({5, 6, 10, 13, 14})


def _chain(error: BaseException) -> Iterator[BaseException]:
    """The error and the errors it was raised from (SQLAlchemy wraps the driver's)."""
    current: BaseException | None = error
    while current is not None:
        yield current
        current = current.__cause__


def postgres_outage(error: BaseException) -> bool:
    # Connecting fails with the socket's own errors (refused, unreachable, timed out).
    if isinstance(error, OSError):
        return True
    if isinstance(error, sa.exc.DBAPIError) and error.connection_invalidated:
        return True
    for cause in _chain(error):
        state = getattr(cause, "sqlstate", None)
        if isinstance(state, str) and (
            state.startswith(_PG_UNAVAILABLE_CLASSES) or state in _PG_UNAVAILABLE_STATES
        ):
            return True
    return False


def sqlite_outage(error: BaseException) -> bool:
    cause = error.orig if isinstance(error, sa.exc.DBAPIError) else error
    code = getattr(cause, "sqlite_errorcode", None)
    # Extended codes (SQLITE_IOERR_FSYNC, …) keep the primary code in their low byte.
    return isinstance(cause, sqlite3.Error) and (code or 0) & 0xFF in _SQLITE_UNAVAILABLE_CODES


class Availability:
    """Whether the database could be reached, as the work run on it finds out; each change is
    logged once.

    Only work that started after the last change can change it again: work in flight while a
    server shuts down may still succeed after others failed, and a connection that died with
    the old server may still fail once the new one answers. Neither is news.
    """

    def __init__(self, database: str, is_outage: Callable[[BaseException], bool]) -> None:
        self._database = database
        self._is_outage = is_outage
        self._down_since: float | None = None
        self._up_since = float("-inf")

    @contextlib.contextmanager
    def watch(self) -> Iterator[None]:
        """Around work on the database: an outage leaves the block as `DatabaseUnavailable`;
        any answer from the database, even an error, shows that it can be reached."""
        started = time.monotonic()
        try:
            yield
        except DatabaseUnavailable:
            raise  # met in a nested block, and told there
        except sa.exc.TimeoutError as e:
            # The pool had no connection to give in time: the database answers, it is busy.
            raise DatabaseBusy() from e
        except Exception as e:
            if not self._is_outage(e):
                self._answered(started)
                raise
            self._lost(started, e)
            raise DatabaseUnavailable() from e
        self._answered(started)

    def _lost(self, started: float, error: BaseException) -> None:
        if self._down_since is None and started > self._up_since:
            self._down_since = time.monotonic()
            _told(log.error, "database_unavailable", database=self._database, error=in_words(error))

    def _answered(self, started: float) -> None:
        if self._down_since is not None and started > self._down_since:
            self._up_since = time.monotonic()
            down = round(self._up_since - self._down_since, 1)
            self._down_since = None
            _told(log.info, "database_available_again", database=self._database, after_seconds=down)


def _told(level: Callable[..., object], event: str, **values: object) -> None:
    """Log a change of the whole process's state outside the context of the request or job
    that happened to meet it, whose ids would otherwise be bound to the line."""
    contextvars.Context().run(level, event, **values)
