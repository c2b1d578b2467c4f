"""The images view: one row per live image, with its tags and members, answering show and list.

An image pending deletion keeps its row (status `pending_delete`, tags and members intact) so a
restore finds it as it was; queries treat it as gone. Its scrubbing (`image.scrubbed`) removes it.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from catalog.events import (
    DomainEvent,
    ImageCopied,
    ImageCopyFailed,
    ImageCopyStarted,
    ImageCreated,
    ImageDeactivated,
    ImageDeleted,
    ImageDeletePending,
    ImageLocationAdded,
    ImageLocationRemoved,
    ImageMemberAdded,
    ImageMemberRemoved,
    ImageMemberStatusChanged,
    ImageReactivated,
    ImageRestored,
    ImageScrubbed,
    ImageStaged,
    ImageTagAdded,
    ImageTagRemoved,
    ImageUpdated,
    ImageUploaded,
    ImageUploadFailed,
    ImageUploadStarted,
    RecordedEvent,
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


_NO_DATA = dict.fromkeys(
    ("size", "virtual_size", "checksum", "os_hash_algo", "os_hash_value"), None
)
# Replays may meet rows already there (a rebuild racing live appends): those are kept.
_INSERT_IMAGE = insert_or_ignore(image, "id")
_INSERT_TAG = insert_or_ignore(image_tag, "image_id", "tag")
_INSERT_MEMBER = insert_or_ignore(image_member, "image_id", "member")


class ImagesProjection:
    name: str = "images"
    tables: tuple[sa.Table, ...] = (image, image_tag, image_member)

    def apply(self, conn: sa.Connection, recorded: RecordedEvent, event: DomainEvent) -> None:
        image_id, at = recorded.stream_id, recorded.occurred_at
        match event:
            case ImageCreated():
                self._create(conn, recorded, event)
                return
            case ImageDeleted() | ImageScrubbed():
                for table, column in (
                    (image_tag, image_tag.c.image_id),
                    (image_member, image_member.c.image_id),
                    (image, image.c.id),
                ):
                    conn.execute(sa.delete(table).where(column == image_id))
                return
            case ImageMemberAdded() | ImageMemberStatusChanged() | ImageMemberRemoved():
                self._apply_member(conn, recorded, event)
                return
            case ImageCopyStarted() | ImageCopyFailed():
                # Not a change users see; counted so recovery can find copies to look after.
                step = 1 if isinstance(event, ImageCopyStarted) else -1
                conn.execute(
                    sa.update(image)
                    .where(image.c.id == image_id, image.c.version < recorded.version)
                    .values(
                        copies_in_progress=image.c.copies_in_progress + step,
                        version=recorded.version,
                    )
                )
                return
            case ImageTagAdded() | ImageTagRemoved():
                changes: dict[str, Any] = {}
            case ImageUpdated():
                current = (
                    conn.execute(
                        sa.select(image.c.properties).where(
                            image.c.id == image_id, image.c.version < recorded.version
                        )
                    )
                ).scalar_one_or_none()
                if current is None:
                    return
                properties = {**current, **event.properties}
                for name in event.removed_properties:
                    properties.pop(name, None)
                changes = {**event.attributes, "properties": properties}
            case ImageDeactivated():
                changes = {"status": "deactivated"}
            case ImageReactivated():
                changes = {"status": "active"}
            case ImageDeletePending():
                # Copies still streaming ended with the deletion: nothing for recovery to find.
                changes = {"status": "pending_delete", "copies_in_progress": 0}
            case ImageRestored():
                changes = {"status": event.status}
            case ImageUploadStarted():
                changes = {
                    "status": "uploading" if event.staging else "saving",
                    "reserved_bytes": event.reserved,
                }
            case ImageStaged():
                # As Glance: a staged image shows its size (which now counts, not the claim).
                changes = {"size": event.size, "reserved_bytes": 0}
            case ImageUploadFailed():
                changes = {
                    "status": "queued",
                    "size": None,
                    "virtual_size": None,
                    "reserved_bytes": 0,
                }
            case ImageUploaded() | ImageLocationAdded():
                current = (
                    conn.execute(sa.select(image.c.locations).where(image.c.id == image_id))
                ).scalar_one_or_none()
                if current is None:
                    return
                changes = {
                    "status": "active",
                    "reserved_bytes": 0,
                    "size": event.size,
                    "checksum": event.checksum,
                    "os_hash_algo": event.os_hash_algo,
                    "os_hash_value": event.os_hash_value,
                    "virtual_size": getattr(event, "virtual_size", None),
                    "locations": [*current, {"url": event.location, "store": event.store}],
                }
            case ImageCopied():
                current = (
                    conn.execute(sa.select(image.c.locations).where(image.c.id == image_id))
                ).scalar_one_or_none()
                if current is None:
                    return
                copied = {"url": event.location, "store": event.store}
                changes = {
                    "locations": [*current, copied],
                    "copies_in_progress": image.c.copies_in_progress - 1,
                }
            case ImageLocationRemoved():
                current = (
                    conn.execute(sa.select(image.c.locations).where(image.c.id == image_id))
                ).scalar_one_or_none()
                if current is None:
                    return
                kept = [loc for loc in current if loc["url"] != event.location]
                changes = {"locations": kept}
            case _:
                return
        updated = conn.execute(
            sa.update(image)
            .where(image.c.id == image_id, image.c.version < recorded.version)
            .values(**changes, updated_at=at, version=recorded.version)
        )
        # Tags follow the row's version guard: a replayed old event must not undo a newer one.
        if updated.rowcount == 1:
            self._apply_tag(conn, image_id, event)

    def _apply_member(
        self,
        conn: sa.Connection,
        recorded: RecordedEvent,
        event: ImageMemberAdded | ImageMemberStatusChanged | ImageMemberRemoved,
    ) -> None:
        """Membership moves the image's version (the guard) but not its updated_at."""
        image_id, at = recorded.stream_id, recorded.occurred_at
        guarded = conn.execute(
            sa.update(image)
            .where(image.c.id == image_id, image.c.version < recorded.version)
            .values(version=recorded.version)
        )
        if guarded.rowcount != 1:
            return
        row = (image_member.c.image_id == image_id) & (image_member.c.member == event.member)
        match event:
            case ImageMemberAdded():
                conn.execute(
                    _INSERT_MEMBER,
                    {
                        "image_id": image_id,
                        "member": event.member,
                        "status": "pending",
                        "created_at": at,
                        "updated_at": at,
                    },
                )
            case ImageMemberStatusChanged():
                conn.execute(
                    sa.update(image_member).where(row).values(status=event.status, updated_at=at)
                )
            case ImageMemberRemoved():
                conn.execute(sa.delete(image_member).where(row))

    def _apply_tag(self, conn: sa.Connection, image_id: Any, event: DomainEvent) -> None:
        match event:
            case ImageUpdated(tags=tags) if tags is not None:
                conn.execute(sa.delete(image_tag).where(image_tag.c.image_id == image_id))
                if tags:
                    conn.execute(_INSERT_TAG, [{"image_id": image_id, "tag": tag} for tag in tags])
            case ImageTagAdded():
                conn.execute(_INSERT_TAG, {"image_id": image_id, "tag": event.tag})
            case ImageTagRemoved():
                conn.execute(
                    sa.delete(image_tag).where(
                        image_tag.c.image_id == image_id, image_tag.c.tag == event.tag
                    )
                )

    def _create(self, conn: sa.Connection, recorded: RecordedEvent, event: ImageCreated) -> None:
        conn.execute(_INSERT_IMAGE, created_row(recorded, event))
        if event.tags:
            conn.execute(
                _INSERT_TAG, [{"image_id": recorded.stream_id, "tag": tag} for tag in event.tags]
            )


def created_row(recorded: RecordedEvent, event: ImageCreated) -> dict[str, Any]:
    """The `image` row an `image.created` event makes (its tags go to `image_tag`)."""
    return {
        **_NO_DATA,
        **event.model_dump(exclude={"tags"}),
        "id": recorded.stream_id,
        "status": "queued",
        "locations": [],
        "reserved_bytes": 0,
        "copies_in_progress": 0,
        "created_at": recorded.occurred_at,
        "updated_at": recorded.occurred_at,
        "version": recorded.version,
    }
