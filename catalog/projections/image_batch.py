"""Applying many image changes at once: folded per image in memory, each row written once.

The rebuild replays the log through this. It folds each image's changes in log order over the
image's current rows (none for an image new to the tables, read back otherwise: `per_stream`),
with exactly the rules the one-event-at-a-time SQL of `ImagesProjection.apply` follows (guarded
by the row's version, tags and members behind the guard, a creation never replacing a row),
then writes only what differs: new rows, changed rows, rows gone. The two paths give the same
rows; a test compares them.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass
from typing import Any, NamedTuple

import pydantic_core
import sqlalchemy as sa

from catalog.projections.base import BatchWrite, RowInserter
from catalog.projections.by_ids import id_batches, one_of_ids
from catalog.projections.image_changes import (
    AddMember,
    AddTag,
    CreateImage,
    DeleteImage,
    FollowUp,
    ImageChange,
    RemoveMember,
    RemoveTag,
    ReplaceTags,
    SetMemberStatus,
    UpdateImage,
)
from catalog.projections.per_stream import PerStream


class ImageTables(NamedTuple):
    """The images view's tables, live or the rebuild's stand-ins for them."""

    image: sa.Table
    tag: sa.Table
    member: sa.Table


@dataclass
class _ImageRows:
    """One image's rows in the view: its image row, its tags, its members by project."""

    row: dict[str, Any]
    tags: set[str]
    members: dict[str, dict[str, Any]]

    def copy(self) -> _ImageRows:
        return _ImageRows(
            dict(self.row), set(self.tags), {m: dict(r) for m, r in self.members.items()}
        )


def prepare_changes(
    changes: Sequence[tuple[uuid.UUID, ImageChange]],
    tables: ImageTables,
    new_streams: Set[uuid.UUID] = frozenset(),
) -> BatchWrite:
    """The write of `changes` (image id and change, in log order) to `tables`; the images of
    `new_streams` have no rows there yet (see `per_stream`)."""
    return _per_stream(tables).prepare(changes, new_streams)


@functools.cache
def _per_stream(t: ImageTables) -> PerStream[_ImageRows, ImageChange, _Writes]:
    return PerStream(functools.partial(_load, t), _folded_writes, functools.partial(_write, t))


def _folded_writes(
    before: Mapping[uuid.UUID, _ImageRows], changes: Sequence[tuple[uuid.UUID, ImageChange]]
) -> _Writes:
    """What to write for `changes` over the rows `before` holds: only what differs."""
    after = {i: (None if i not in before else before[i].copy()) for i, _ in changes}
    for image_id, change in changes:
        after[image_id] = _fold(after[image_id], change)
    writes = _Writes()
    for image_id, now in after.items():
        writes.compare(image_id, before.get(image_id), now)
    return writes


def _fold(current: _ImageRows | None, change: ImageChange) -> _ImageRows | None:
    # Most changes are updates: tested first, by exact type (cheap, and they are final).
    if type(change) is UpdateImage:
        if current is None or current.row["version"] >= change.version:
            return current
        row = current.row
        row.update(change.values)
        for name, derive in change.derived.items():
            row[name] = derive(row[name])
        row["version"] = change.version
        if change.then is not None:
            _follow_up(current, change.then)
        return current
    match change:
        case CreateImage(row=row, tags=tags, members=members):
            if current is not None:
                return current
            image_id = row["id"]
            held = {m["member"]: {**m, "image_id": image_id} for m in members}
            return _ImageRows(dict(row), set(tags), held)
        case DeleteImage():
            return None
    raise TypeError(change)


def _follow_up(rows: _ImageRows, then: FollowUp) -> None:
    match then:
        case ReplaceTags(tags=tags):
            rows.tags = set(tags)
        case AddTag(tag=tag):
            rows.tags.add(tag)
        case RemoveTag(tag=tag):
            rows.tags.discard(tag)
        case AddMember(member=member, at=at):
            if member not in rows.members:
                rows.members[member] = {
                    "image_id": rows.row["id"],
                    "member": member,
                    "status": "pending",
                    "created_at": at,
                    "updated_at": at,
                }
        case SetMemberStatus(member=member, status=status, at=at):
            if member in rows.members:
                rows.members[member].update(status=status, updated_at=at)
        case RemoveMember(member=member):
            rows.members.pop(member, None)


def _load(
    t: ImageTables, conn: sa.Connection, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, _ImageRows]:
    loaded: dict[uuid.UUID, _ImageRows] = {}
    postgres = conn.dialect.name == "postgresql"
    for chunk in id_batches(ids, postgres):
        images, tags, members = _selects(t, postgres)
        params = {"ids": list(chunk)}
        for row in conn.execute(images, params):
            loaded[row.id] = _ImageRows(row._asdict(), set(), {})
        for image_id, tag in conn.execute(tags, params):
            if image_id in loaded:
                loaded[image_id].tags.add(tag)
        for row in conn.execute(members, params):
            if row.image_id in loaded:
                loaded[row.image_id].members[row.member] = row._asdict()
    return loaded


@functools.cache
def _selects(t: ImageTables, postgres: bool) -> tuple[sa.Select[Any], ...]:
    return (
        sa.select(t.image).where(one_of_ids(t.image.c.id, postgres)),
        sa.select(t.tag.c.image_id, t.tag.c.tag).where(one_of_ids(t.tag.c.image_id, postgres)),
        sa.select(t.member).where(one_of_ids(t.member.c.image_id, postgres)),
    )


class _Writes:
    """What a batch changes, per table: rows to delete (their keys), to add, to change."""

    def __init__(self) -> None:
        self.gone: dict[str, list[dict[str, Any]]] = {"image": [], "tag": [], "member": []}
        self.added: dict[str, list[dict[str, Any]]] = {"image": [], "tag": [], "member": []}
        self.changed: dict[str, list[dict[str, Any]]] = {"image": [], "member": []}

    def compare(self, image_id: uuid.UUID, was: _ImageRows | None, now: _ImageRows | None) -> None:
        if now is None:
            if was is not None:
                self.gone["image"].append({"id": image_id})
        elif was is None:
            self.added["image"].append(now.row)
        elif now.row != was.row:
            self.changed["image"].append(now.row)
        old_tags, new_tags = (was.tags if was else set()), (now.tags if now else set())
        self.gone["tag"] += [{"image_id": image_id, "tag": t} for t in old_tags - new_tags]
        self.added["tag"] += [{"image_id": image_id, "tag": t} for t in new_tags - old_tags]
        old_members, new_members = (was.members if was else {}), (now.members if now else {})
        for member, row in new_members.items():
            if member not in old_members:
                self.added["member"].append(row)
            elif row != old_members[member]:
                self.changed["member"].append(row)
        self.gone["member"] += [
            {"image_id": image_id, "member": m} for m in old_members if m not in new_members
        ]


def _write(t: ImageTables, conn: sa.Connection, writes: _Writes, insert: RowInserter) -> None:
    tables = {"image": t.image, "tag": t.tag, "member": t.member}
    if conn.dialect.name == "postgresql":
        _write_as_recordsets(conn, tables, writes)
    else:
        _write_row_by_row(conn, tables, writes)
    for kind, table in tables.items():
        insert(conn, table, writes.added[kind])


def _write_row_by_row(conn: sa.Connection, tables: dict[str, sa.Table], writes: _Writes) -> None:
    """Rows gone and changed, one executemany per table and kind: cheap where the database is
    in-process (SQLite)."""
    for kind, table in tables.items():
        if writes.gone[kind]:
            conn.execute(_delete_by_key(table), [_keyed(row) for row in writes.gone[kind]])
    for kind, table in tables.items():
        if writes.changed.get(kind):
            conn.execute(_update_by_key(table), [_keyed(row) for row in writes.changed[kind]])


def _write_as_recordsets(conn: sa.Connection, tables: dict[str, sa.Table], writes: _Writes) -> None:
    """PostgreSQL: each table's rows gone, then its changed rows, as one statement fed by one
    JSON document, which the server turns into rows (`jsonb_populate_recordset`). Per row,
    that spares the client SQLAlchemy's parameter processing and the server a statement."""
    for kind, table in tables.items():
        if writes.gone[kind]:
            conn.execute(_recordset_delete(table), {"rows": _json(writes.gone[kind])})
    for kind, table in tables.items():
        if writes.changed.get(kind):
            conn.execute(_recordset_update(table), {"rows": _json(writes.changed[kind])})


def _json(rows: list[dict[str, Any]]) -> str:
    # Datetimes (all timezone-aware: they come from the log) keep their offset, UUIDs become
    # their text: what the server needs to store exactly what the other path stores.
    return pydantic_core.to_json(rows).decode()


def _keyed(row: dict[str, Any]) -> dict[str, Any]:
    """A row's values under the bind names of `_update_by_key` and `_delete_by_key` (a bind
    may not share a column's name in an UPDATE's SET clause)."""
    return {f"k_{name}": value for name, value in row.items()}


def _key_match(table: sa.Table) -> list[sa.ColumnElement[bool]]:
    return [c == sa.bindparam(f"k_{c.name}", type_=c.type) for c in table.primary_key]


@functools.cache
def _delete_by_key(table: sa.Table) -> sa.Delete:
    return sa.delete(table).where(*_key_match(table))


@functools.cache
def _update_by_key(table: sa.Table) -> sa.Update:
    values = {
        c.name: sa.bindparam(f"k_{c.name}", type_=c.type)
        for c in table.columns
        if not c.primary_key
    }
    return sa.update(table).where(*_key_match(table)).values(values)


def _recordset(table: sa.Table) -> str:
    return f"jsonb_populate_recordset(NULL::{table.name}, CAST(:rows AS jsonb)) AS r"


@functools.cache
def _recordset_delete(table: sa.Table) -> sa.TextClause:
    keys = " AND ".join(f"t.{c.name} = r.{c.name}" for c in table.primary_key)
    return sa.text(f"DELETE FROM {table.name} AS t USING {_recordset(table)} WHERE {keys}")


@functools.cache
def _recordset_update(table: sa.Table) -> sa.TextClause:
    keys = " AND ".join(f"t.{c.name} = r.{c.name}" for c in table.primary_key)
    values = ", ".join(f"{c.name} = r.{c.name}" for c in table.columns if not c.primary_key)
    return sa.text(f"UPDATE {table.name} AS t SET {values} FROM {_recordset(table)} WHERE {keys}")
