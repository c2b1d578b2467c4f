"""The rebuild's own copies of the view tables, and putting them in place of the live ones.

Each live view table `x` gets a copy `x__rebuild` made from the live table's own DDL (so
whatever the migrations did to it, the copy has it too), filled beside the live one while the
service goes on, then swapped in within the caller's switch transaction: the live table is
dropped and the copy takes its name. Indexes and constraints are built on the copy under
temporary names and get their original names back at the switch, so the next rebuild and later
migrations (which drop and create indexes by name) find what they expect.

Only DDL lives here; the rows are written by the projections (`Projection.prepare_batch`).
"""

from __future__ import annotations

import abc
import hashlib
import re
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

SUFFIX = "__rebuild"
_PG_NAME_BYTES = 63


class RebuildError(Exception):
    """The rebuild could not run or finish; the live views are as they were."""


def rebuild_name(name: str) -> str:
    """The temporary name of a table, index or constraint of the rebuild (PostgreSQL cuts
    names at 63 bytes: a longer one is shortened and keeps a hash of the whole)."""
    candidate = name + SUFFIX
    if len(candidate.encode()) <= _PG_NAME_BYTES:
        return candidate
    digest = hashlib.sha1(name.encode()).hexdigest()[:8]
    return f"{name[: _PG_NAME_BYTES - len(SUFFIX) - 9]}_{digest}{SUFFIX}"


class RebuildTables(abc.ABC):
    """The copies of `live` for one rebuild. Every method runs on the caller's transaction."""

    def __init__(self, live: Sequence[sa.Table]) -> None:
        self.live = tuple(live)
        copies = sa.MetaData()
        self.copies: dict[str, sa.Table] = {
            t.name: t.to_metadata(copies, name=rebuild_name(t.name)) for t in self.live
        }
        """A live table's name to its copy, as the projections' `prepare_batch` takes them."""
        self._shapes: dict[str, list[tuple[Any, ...]]] = {}

    @abc.abstractmethod
    def drop_leftovers(self, conn: sa.Connection) -> None:
        """Drop copies an earlier, interrupted rebuild left behind (the live tables are never
        touched before the switch)."""

    def create(self, conn: sa.Connection) -> None:
        """Create the empty copies, with the keys their writes need."""
        for live in self.live:
            self._shapes[live.name] = self._shape(conn, live.name)
            self._create(conn, live.name)

    def check_unchanged(self, conn: sa.Connection) -> None:
        """Refuse to switch if a live table's DDL changed since its copy was made (a migration
        ran meanwhile): the copy would bring the old schema back."""
        for live in self.live:
            if self._shape(conn, live.name) != self._shapes[live.name]:
                raise RebuildError(
                    f"the table {live.name!r} changed while it was rebuilt (a migration?);"
                    " the views are as they were: run the rebuild again"
                )

    @abc.abstractmethod
    def _create(self, conn: sa.Connection, name: str) -> None: ...

    @abc.abstractmethod
    def _shape(self, conn: sa.Connection, name: str) -> list[tuple[Any, ...]]:
        """The live table's columns, indexes and constraints, to notice a change."""

    @abc.abstractmethod
    def index_builds(self, conn: sa.Connection) -> list[str]:
        """The statements that build the copies' other indexes (cheaper once the bulk of the
        rows is in), each on its own: they may run at once, in transactions of their own."""

    @abc.abstractmethod
    def analyze(self, conn: sa.Connection) -> None:
        """Gather the copies' statistics, once their indexes are built (expression indexes
        have statistics of their own)."""

    @abc.abstractmethod
    def lock_live(self, conn: sa.Connection) -> None:
        """Take the live tables for the switch: readers wait from here to the commit."""

    @abc.abstractmethod
    def put_in_place(self, conn: sa.Connection) -> None:
        """Drop the live tables and give their names, and their indexes' and constraints'
        names, to the copies. Appends must be held and the live tables locked."""


def rebuild_tables_for(postgres: bool, live: Sequence[sa.Table]) -> RebuildTables:
    return PostgresRebuildTables(live) if postgres else SqliteRebuildTables(live)


def _quoted(conn: sa.Connection, name: str) -> str:
    return conn.dialect.identifier_preparer.quote_identifier(name)


class PostgresRebuildTables(RebuildTables):
    """`CREATE TABLE … (LIKE live INCLUDING ALL EXCLUDING INDEXES)`, then each index and
    index-backed constraint from its live definition (`pg_get_indexdef`,
    `pg_get_constraintdef`), in the live table's schema."""

    def drop_leftovers(self, conn: sa.Connection) -> None:
        for live in self.live:
            schema = _schema_of(conn, live.name)
            copy = f"{_quoted(conn, schema)}.{_quoted(conn, rebuild_name(live.name))}"
            conn.execute(sa.text(f"DROP TABLE IF EXISTS {copy}"))

    def _create(self, conn: sa.Connection, name: str) -> None:
        _refuse_foreign_keys(conn, name)
        source, copy = self._names(conn, name)
        conn.execute(
            sa.text(f"CREATE TABLE {copy} (LIKE {source} INCLUDING ALL EXCLUDING INDEXES)")
        )
        for constraint, definition in conn.execute(_CONSTRAINTS, {"t": name}):
            conn.execute(
                sa.text(
                    f"ALTER TABLE {copy} ADD CONSTRAINT "
                    f"{_quoted(conn, rebuild_name(constraint))} {definition}"
                )
            )

    def _shape(self, conn: sa.Connection, name: str) -> list[tuple[Any, ...]]:
        return [tuple(row) for query in _PG_SHAPE for row in conn.execute(query, {"t": name})]

    def index_builds(self, conn: sa.Connection) -> list[str]:
        builds = []
        for live in self.live:
            _, copy = self._names(conn, live.name)
            for name, definition in conn.execute(_PLAIN_INDEXES, {"t": live.name}):
                builds.append(_index_on_copy(definition, rebuild_name(name), copy, conn))
        return builds

    def analyze(self, conn: sa.Connection) -> None:
        for live in self.live:
            conn.execute(sa.text(f"ANALYZE {self._names(conn, live.name)[1]}"))

    def lock_live(self, conn: sa.Connection) -> None:
        names = ", ".join(self._names(conn, live.name)[0] for live in self.live)
        conn.execute(sa.text(f"LOCK TABLE {names} IN ACCESS EXCLUSIVE MODE"))

    def put_in_place(self, conn: sa.Connection) -> None:
        for live in self.live:
            source, copy = self._names(conn, live.name)
            constraints = [n for n, _ in conn.execute(_CONSTRAINTS, {"t": live.name})]
            indexes = [n for n, _ in conn.execute(_PLAIN_INDEXES, {"t": live.name})]
            schema = _quoted(conn, _schema_of(conn, live.name))
            conn.execute(sa.text(f"DROP TABLE {source}"))
            conn.execute(sa.text(f"ALTER TABLE {copy} RENAME TO {_quoted(conn, live.name)}"))
            for name in constraints:
                conn.execute(
                    sa.text(
                        f"ALTER TABLE {source} RENAME CONSTRAINT "
                        f"{_quoted(conn, rebuild_name(name))} TO {_quoted(conn, name)}"
                    )
                )
            for name in indexes:
                conn.execute(
                    sa.text(
                        f"ALTER INDEX {schema}.{_quoted(conn, rebuild_name(name))} "
                        f"RENAME TO {_quoted(conn, name)}"
                    )
                )

    def _names(self, conn: sa.Connection, name: str) -> tuple[str, str]:
        """The live table and its copy, qualified with the live table's schema."""
        schema = _quoted(conn, _schema_of(conn, name))
        return (
            f"{schema}.{_quoted(conn, name)}",
            f"{schema}.{_quoted(conn, rebuild_name(name))}",
        )


# The live table as the application finds it: the first on the search path.
_SCHEMA = sa.text(
    "SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
    " WHERE c.oid = to_regclass(quote_ident(:t))"
)
# Constraints that own an index (primary key, unique, exclusion): made with the constraint.
_CONSTRAINTS = sa.text(
    "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint"
    " WHERE conrelid = to_regclass(quote_ident(:t)) AND contype IN ('p', 'u', 'x')"
    " ORDER BY conname"
)
_PLAIN_INDEXES = sa.text(
    "SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i"
    " JOIN pg_class c ON c.oid = i.indexrelid"
    " WHERE i.indrelid = to_regclass(quote_ident(:t))"
    " AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid"
    " AND k.conrelid = i.indrelid)"
    " ORDER BY c.relname"
)
_PG_SHAPE = (
    sa.text(
        "SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,"
        " pg_get_expr(d.adbin, d.adrelid) FROM pg_attribute a"
        " LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum"
        " WHERE a.attrelid = to_regclass(quote_ident(:t)) AND a.attnum > 0"
        " AND NOT a.attisdropped ORDER BY a.attnum"
    ),
    sa.text(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint"
        " WHERE conrelid = to_regclass(quote_ident(:t)) ORDER BY conname"
    ),
    sa.text(
        "SELECT pg_get_indexdef(indexrelid) FROM pg_index"
        " WHERE indrelid = to_regclass(quote_ident(:t)) ORDER BY 1"
    ),
)
_FOREIGN_KEYS = sa.text(
    "SELECT count(*) FROM pg_constraint WHERE contype = 'f'"
    " AND to_regclass(quote_ident(:t)) IN (conrelid, confrelid)"
)
# pg_get_indexdef: CREATE [UNIQUE] INDEX name ON [ONLY] schema.table USING method (...)
_INDEX_HEAD = re.compile(
    r"^(CREATE (?:UNIQUE )?INDEX )(\S+)( ON (?:ONLY )?)(\S+)( USING .*)$", re.S
)


def _schema_of(conn: sa.Connection, name: str) -> str:
    schema = conn.execute(_SCHEMA, {"t": name}).scalar_one_or_none()
    if schema is None:
        raise LookupError(f"no table {name!r} on the search path")
    return str(schema)


def _refuse_foreign_keys(conn: sa.Connection, name: str) -> None:
    # A foreign key would have to be re-pointed at the copy; no view has one, and a copy
    # silently without it would not be the live table's DDL.
    if conn.execute(_FOREIGN_KEYS, {"t": name}).scalar_one():
        raise RebuildError(f"rebuilding {name!r}: views with foreign keys are not handled")


def _index_on_copy(definition: str, name: str, copy: str, conn: sa.Connection) -> str:
    match = _INDEX_HEAD.match(definition)
    if match is None:
        raise ValueError(f"unexpected index definition: {definition}")
    create, _, on, _, rest = match.groups()
    return f"{create}{_quoted(conn, name)}{on}{copy}{rest}"


class SqliteRebuildTables(RebuildTables):
    """The copy from the live table's `CREATE TABLE` in `sqlite_master`; its indexes are made
    again from their own statements at the switch (SQLite cannot rename an index)."""

    def drop_leftovers(self, conn: sa.Connection) -> None:
        for live in self.live:
            conn.execute(sa.text(f"DROP TABLE IF EXISTS {_quoted(conn, rebuild_name(live.name))}"))

    def _create(self, conn: sa.Connection, name: str) -> None:
        ddl = conn.execute(_SQLITE_TABLE, {"t": name}).scalar_one()
        named, count = _TABLE_HEAD.subn(rf"\g<1>{rebuild_name(name)}", ddl, count=1)
        if count != 1:
            raise ValueError(f"unexpected table definition: {ddl}")
        conn.execute(sa.text(named))

    def _shape(self, conn: sa.Connection, name: str) -> list[tuple[Any, ...]]:
        return [tuple(row) for row in conn.execute(_SQLITE_SHAPE, {"t": name})]

    def index_builds(self, conn: sa.Connection) -> list[str]:
        """None before the switch: the indexes keep their names only if made there."""
        return []

    def analyze(self, conn: sa.Connection) -> None:
        """Nothing: the switch builds the indexes."""

    def lock_live(self, conn: sa.Connection) -> None:
        """Nothing: the switch's write transaction is the only writer, and readers keep
        reading the last committed state until it commits."""

    def put_in_place(self, conn: sa.Connection) -> None:
        for live in self.live:
            indexes = list(conn.execute(_SQLITE_INDEXES, {"t": live.name}).scalars())
            conn.execute(sa.text(f"DROP TABLE {_quoted(conn, live.name)}"))
            conn.execute(
                sa.text(
                    f"ALTER TABLE {_quoted(conn, rebuild_name(live.name))} "
                    f"RENAME TO {_quoted(conn, live.name)}"
                )
            )
            for statement in indexes:
                conn.execute(sa.text(statement))


_SQLITE_SHAPE = sa.text(
    "SELECT type, name, sql FROM sqlite_master WHERE tbl_name = :t ORDER BY type, name"
)
_SQLITE_TABLE = sa.text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = :t")
# Indexes made by CREATE INDEX (those of a primary key or UNIQUE come with the table; no sql).
_SQLITE_INDEXES = sa.text(
    "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = :t AND sql IS NOT NULL"
    " ORDER BY name"
)
_TABLE_HEAD = re.compile(r"""^(\s*CREATE\s+TABLE\s+)(?:"[^"]+"|`[^`]+`|\[[^\]]+\]|\w+)""", re.I)
