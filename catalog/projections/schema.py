"""The metadata every table (log and views) is declared on, with one naming convention."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

JsonDocument = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


class UtcDateTime(sa.types.TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back timezone-aware (SQLite drops the zone)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return (
            value.astimezone(UTC)
            if dialect.name == "postgresql"
            else (value.astimezone(UTC).replace(tzinfo=None))
        )

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def insert_or_ignore(table: sa.Table, *conflict: str) -> sa.TextClause:
    """`INSERT … ON CONFLICT (conflict) DO NOTHING` for every column of `table`.

    Built once, as typed text: the dialect-specific `on_conflict_do_nothing()` constructs cannot
    be cached by SQLAlchemy and would be compiled again for every row. PostgreSQL and SQLite
    share this syntax. Execute it with a value for every column.
    """
    names = [c.name for c in table.c]
    sql = (
        f"INSERT INTO {table.name} ({', '.join(names)}) "
        f"VALUES ({', '.join(':' + n for n in names)}) "
        f"ON CONFLICT ({', '.join(conflict)}) DO NOTHING"
    )
    return sa.text(sql).bindparams(*(sa.bindparam(c.name, type_=c.type) for c in table.c))
