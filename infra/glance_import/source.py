"""Reading a Glance database (2023.1 or later) with SQLAlchemy Core: its images with their
properties, tags, members and locations, as Glance's tables hold them.

Glance soft-deletes: a deleted row stays with `deleted` set. An image's own rows are those not
deleted; a deleted (or pending deletion) image's are also those deleted with it, so the image is
kept as it was when it went. A pending deletion's data is at its locations in status
`pending_delete`.

Synchronous (the drivers of MySQL and SQLite are), run in a thread by the caller. Drivers:
SQLite (Python's own), MySQL/MariaDB (PyMySQL: `mysql://` means `mysql+pymysql://`) and
PostgreSQL (psycopg: `postgresql://` means `postgresql+psycopg://`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from infra.operator_errors import OperatorError, in_words

_DEFAULT_DRIVERS = {
    "mysql": "mysql+pymysql",
    "mariadb": "mariadb+pymysql",
    "postgresql": "postgresql+psycopg",
}
_TABLES = ("images", "image_properties", "image_tags", "image_members", "image_locations")


@dataclass(frozen=True)
class SourceLocation:
    url: str
    metadata: dict[str, object]


@dataclass
class SourceImage:
    """One row of `images` with the rows that belong to it."""

    id: str
    deleted: bool
    row: dict[str, Any]
    properties: dict[str, str] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    members: list[dict[str, Any]] = field(default_factory=list)
    locations: list[SourceLocation] = field(default_factory=list)


def source_url(text: str) -> sa.URL:
    """The database URL given, with the driver this project ships for its kind."""
    try:
        url = sa.make_url(text)
    except sa.exc.ArgumentError:
        raise OperatorError(f"import-glance: --from {text!r} is not a database URL") from None
    if url.get_backend_name() == "sqlite" and not Path(url.database or "").is_file():
        # SQLite would make an empty database there.
        raise OperatorError(f"import-glance: no SQLite database at {url.database!r}")
    driver = _DEFAULT_DRIVERS.get(url.drivername)
    return url.set(drivername=driver) if driver else url


def shown(url: sa.URL) -> str:
    return url.render_as_string(hide_password=True)


class GlanceDatabase:
    """A Glance database, read once per run."""

    def __init__(self, url: sa.URL) -> None:
        self.url = url
        try:
            self._engine = sa.create_engine(url, poolclass=sa.NullPool)
        except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError, ImportError) as e:
            raise OperatorError(f"import-glance: cannot use {shown(url)}: {in_words(e)}") from e

    def read(self) -> list[SourceImage]:
        try:
            with self._engine.connect() as conn:
                tables = self._tables(conn)
                images = {row["id"]: _image(row) for row in _rows(conn, tables["images"])}
                for name in _TABLES[1:]:
                    for row in _rows(conn, tables[name]):
                        image = images.get(row["image_id"])
                        if image is not None:
                            _ADD[name](image, row)
                return list(images.values())
        except sa.exc.DBAPIError as e:
            raise OperatorError(
                f"import-glance: cannot read the Glance database {shown(self.url)}: {in_words(e)}"
            ) from e
        finally:
            self._engine.dispose()

    def _tables(self, conn: sa.Connection) -> dict[str, sa.Table]:
        """Glance's tables as the database has them (reflected: no Glance code needed)."""
        metadata = sa.MetaData()
        try:
            metadata.reflect(conn, only=_TABLES)
        except sa.exc.InvalidRequestError:
            raise OperatorError(
                f"import-glance: {shown(self.url)} is not a Glance database (it needs the tables"
                f" {', '.join(_TABLES)})"
            ) from None
        return {name: metadata.tables[name] for name in _TABLES}


def _rows(conn: sa.Connection, table: sa.Table) -> Iterator[Mapping[str, Any]]:
    order = table.c.id if "id" in table.c else table.c[0]
    for row in conn.execute(sa.select(table).order_by(order)):
        yield {k: _utc(v) for k, v in row._mapping.items()}


def _utc(value: Any) -> Any:
    """Glance writes UTC times without a zone."""
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def _image(row: Mapping[str, Any]) -> SourceImage:
    return SourceImage(id=row["id"], deleted=bool(row["deleted"]), row=dict(row))


def _belongs(row: Mapping[str, Any], image: SourceImage) -> bool:
    """A row of the image as it is, or as it was when it was deleted."""
    if not row["deleted"]:
        return True
    went = image.row["deleted_at"]
    return (
        image.deleted
        and went is not None
        and row["deleted_at"] is not None
        and (row["deleted_at"] >= went)
    )


def _add_property(image: SourceImage, row: Mapping[str, Any]) -> None:
    if _belongs(row, image):
        image.properties[row["name"]] = row["value"] or ""


def _add_tag(image: SourceImage, row: Mapping[str, Any]) -> None:
    if _belongs(row, image):
        image.tags.append(row["value"])


def _add_member(image: SourceImage, row: Mapping[str, Any]) -> None:
    if _belongs(row, image):
        image.members.append(dict(row))


def _add_location(image: SourceImage, row: Mapping[str, Any]) -> None:
    """The data's copies: the live ones, or the ones a pending deletion keeps (Glance marks
    them deleted, in status `pending_delete`, a moment before the image)."""
    status = image.row["status"]
    if status == "pending_delete":
        kept = row["status"] == "pending_delete"
    else:
        kept = status != "deleted" and row["status"] == "active" and not row["deleted"]
    if kept:
        image.locations.append(SourceLocation(row["value"], _metadata(row["meta_data"])))


def _metadata(text: str | None) -> dict[str, object]:
    if not text:
        return {}
    value = json.loads(text)
    return value if isinstance(value, dict) else {}


_ADD = {
    "image_properties": _add_property,
    "image_tags": _add_tag,
    "image_members": _add_member,
    "image_locations": _add_location,
}
