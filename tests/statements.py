"""What SQL a piece of work sent: through SQLAlchemy or on PostgreSQL's driver directly."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import sqlalchemy as sa

from infra.db.driver import DriverStatement

_RUNS = ("fetch", "fetch_in", "execute_in")


@contextlib.contextmanager
def statements_sent() -> Iterator[list[str]]:
    """The SQL of every statement run meanwhile, in order (`DriverStatement`s' too)."""
    sent: list[str] = []

    def note(*args: Any) -> None:  # before_cursor_execute
        sent.append(args[2])

    def noting(run: Callable[..., Any]) -> Callable[..., Any]:
        def noted(statement: DriverStatement, *args: Any, **kwargs: Any) -> Any:
            sent.append(statement.sql)
            return run(statement, *args, **kwargs)

        return noted

    runs = {name: getattr(DriverStatement, name) for name in _RUNS}
    sa.event.listen(sa.Engine, "before_cursor_execute", note)
    for name, run in runs.items():
        setattr(DriverStatement, name, noting(run))
    try:
        yield sent
    finally:
        sa.event.remove(sa.Engine, "before_cursor_execute", note)
        for name, run in runs.items():
            setattr(DriverStatement, name, run)
