"""The images view: one row per live image, with its tags and members, answering show and list.

An image pending deletion keeps its row (status `pending_delete`, tags and members intact) so a
restore finds it as it was; queries treat it as gone. Its scrubbing (`image.scrubbed`) removes it.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence, Set
from typing import Any

import sqlalchemy as sa

from catalog.events import DomainEvent, RecordedEvent, ReplayEvent
from catalog.projections.base import BatchWrite
from catalog.projections.image_batch import ImageTables, prepare_changes
from catalog.projections.image_changes import (
    AddMember,
    AddTag,
    CreateImage,
    DeleteImage,
    FollowUp,
    RemoveMember,
    RemoveTag,
    ReplaceTags,
    SetMemberStatus,
    UpdateImage,
    change_of,
)
from catalog.projections.schema import JsonDocument, UtcDateTime, insert_or_ignore, metadata

image = sa.Table(
    "image",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("name", sa.String(255)),
    sa.Column("status", sa.String(30), nullable=False),
    sa.Column("visibility", sa.String(30), nullable=False),
    sa.Column("protected", sa.Boolean, nullable=False),
    sa.Column("os_hidden", sa.Boolean, nullable=False),
    sa.Column("owner", sa.String(255)),
    sa.Column("disk_format", sa.String(30)),
    sa.Column("container_format", sa.String(30)),
    sa.Column("size", sa.BigInteger),
    sa.Column("virtual_size", sa.BigInteger),
    sa.Column("reserved_bytes", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("copies_in_progress", sa.Integer, nullable=False, server_default="0"),
    # Copies streaming into other stores (copy-image), for recovery to find.
    # What an upload in progress claimed against its project's storage quota (see quotas.py).
    sa.Column("checksum", sa.String(32)),
    sa.Column("os_hash_algo", sa.String(64)),
    sa.Column("os_hash_value", sa.String(128)),
    sa.Column("min_ram", sa.Integer, nullable=False),
    sa.Column("min_disk", sa.Integer, nullable=False),
    sa.Column("properties", JsonDocument, nullable=False),
    sa.Column("locations", JsonDocument, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Index(None, "created_at", "id"),
    sa.Index(None, "owner"),
    sa.Index(None, "checksum"),
)

# Custom-property filters on PostgreSQL ask `properties @> {key: value}`, which this answers for
# any key. (SQLite has no such index: there the filter is checked along the sort order.)
sa.Index(
    "ix_image_properties",
    image.c.properties,
    postgresql_using="gin",
    postgresql_ops={"properties": "jsonb_path_ops"},
).ddl_if(dialect="postgresql")

# What each list sort key orders by: Glance sorts missing names, formats and sizes as '' or 0.
# Literals, not bind parameters, so the expressions match the indexes below exactly.
NULL_AS = {"name": "''", "container_format": "''", "disk_format": "''", "size": "0"}


def sort_expression(key: str) -> sa.ColumnElement[Any]:
    column = image.c[key]
    if key in NULL_AS:
        return sa.func.coalesce(column, sa.literal_column(NULL_AS[key]))
    return column


# One index per sort key, ending with the tie-breakers every list appends, so that any sort
# order starts from an index and a keyset page does not scan what lies before its marker.
SORT_INDEXED_KEYS = ("name", "status", "container_format", "disk_format", "size", "updated_at")
for _key in SORT_INDEXED_KEYS:
    sa.Index(f"ix_image_sort_{_key}", sort_expression(_key), image.c.created_at, image.c.id)

image_tag = sa.Table(
    "image_tag",
    metadata,
    sa.Column("image_id", sa.Uuid, primary_key=True),
    sa.Column("tag", sa.String(255), primary_key=True),
    sa.Index(None, "tag"),
)

image_member = sa.Table(
    "image_member",
    metadata,
    sa.Column("image_id", sa.Uuid, primary_key=True),
    sa.Column("member", sa.String(255), primary_key=True),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    sa.Index(None, "member", "status"),
)


# Replays may meet rows already there: those are kept.
_INSERT_IMAGE = insert_or_ignore(image, "id")
_INSERT_TAG = insert_or_ignore(image_tag, "image_id", "tag")
_INSERT_MEMBER = insert_or_ignore(image_member, "image_id", "member")


class ImagesProjection:
    name: str = "images"
    tables: tuple[sa.Table, ...] = (image, image_tag, image_member)

    def apply(self, conn: sa.Connection, recorded: RecordedEvent, event: DomainEvent) -> None:
        """Carry out the event's change in SQL, on the live tables."""
        image_id = recorded.stream_id
        match change_of(recorded, event):
            case CreateImage(row=row, tags=tags, members=members):
                # Tags and members follow the row: a replayed creation must not bring back
                # removed ones.
                inserted = conn.execute(_INSERT_IMAGE, row).rowcount == 1
                if inserted and tags:
                    conn.execute(_INSERT_TAG, [{"image_id": image_id, "tag": t} for t in tags])
                if inserted and members:
                    conn.execute(_INSERT_MEMBER, [{**m, "image_id": image_id} for m in members])
            case DeleteImage():
                for table, column in (
                    (image_tag, image_tag.c.image_id),
                    (image_member, image_member.c.image_id),
                    (image, image.c.id),
                ):
                    conn.execute(sa.delete(table).where(column == image_id))
            case UpdateImage() as change:
                if _update_row(conn, image_id, change) and change.then is not None:
                    _follow_up(conn, image_id, change.then)
            case None:
                pass

    def prepare_batch(
        self,
        events: Sequence[ReplayEvent],
        tables: Mapping[str, sa.Table] | None = None,
        *,
        new_streams: Set[uuid.UUID] = frozenset(),
    ) -> BatchWrite:
        """The same rows as `apply` event by event, each written once (see `image_batch`)."""
        changes = [(e.stream_id, c) for e in events if (c := change_of(e, e.event)) is not None]
        targets = ImageTables(*((tables or {}).get(t.name, t) for t in self.tables))
        return prepare_changes(changes, targets, new_streams)


def _update_row(conn: sa.Connection, image_id: uuid.UUID, change: UpdateImage) -> bool:
    """Apply the row part of `change`; whether the version guard let it in."""
    guard = (image.c.id == image_id) & (image.c.version < change.version)
    values = dict(change.values)
    if change.derived:
        names = list(change.derived)
        current = conn.execute(sa.select(*(image.c[n] for n in names)).where(guard)).first()
        if current is None:
            return False
        for name, value in zip(names, current, strict=True):
            values[name] = change.derived[name](value)
    updated = conn.execute(sa.update(image).where(guard).values(**values, version=change.version))
    return updated.rowcount == 1


def _follow_up(conn: sa.Connection, image_id: uuid.UUID, then: FollowUp) -> None:
    tag_row = image_tag.c.image_id == image_id
    member_row = image_member.c.image_id == image_id
    match then:
        case ReplaceTags(tags=tags):
            conn.execute(sa.delete(image_tag).where(tag_row))
            if tags:
                conn.execute(_INSERT_TAG, [{"image_id": image_id, "tag": t} for t in tags])
        case AddTag(tag=tag):
            conn.execute(_INSERT_TAG, {"image_id": image_id, "tag": tag})
        case RemoveTag(tag=tag):
            conn.execute(sa.delete(image_tag).where(tag_row, image_tag.c.tag == tag))
        case AddMember(member=member, at=at):
            row = {"image_id": image_id, "member": member, "status": "pending"}
            conn.execute(_INSERT_MEMBER, {**row, "created_at": at, "updated_at": at})
        case SetMemberStatus(member=member, status=status, at=at):
            conn.execute(
                sa.update(image_member)
                .where(member_row, image_member.c.member == member)
                .values(status=status, updated_at=at)
            )
        case RemoveMember(member=member):
            conn.execute(sa.delete(image_member).where(member_row, image_member.c.member == member))
