"""Show and list images from the images view, with visibility decided in SQL."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from catalog.events import ImageCreated, RecordedEvent
from catalog.image import Image
from catalog.projections.image_changes import created_row
from catalog.projections.images import image, image_member, image_tag

HIDDEN_STATUSES = ("killed", "pending_delete")
"""Rows no list shows; an image pending deletion is not shown at all (Glance soft-deletes it)."""


@dataclass(frozen=True)
class ImageView:
    """An image as readers see it."""

    id: uuid.UUID
    name: str | None
    status: str
    visibility: str
    protected: bool
    os_hidden: bool
    owner: str | None
    disk_format: str | None
    container_format: str | None
    size: int | None
    virtual_size: int | None
    checksum: str | None
    os_hash_algo: str | None
    os_hash_value: str | None
    min_ram: int
    min_disk: int
    created_at: datetime
    updated_at: datetime
    properties: dict[str, str] = field(default_factory=dict)
    locations: tuple[dict[str, Any], ...] = ()
    tags: tuple[str, ...] = ()


_BOOKKEEPING = ("version", "reserved_bytes", "copies_in_progress")
IMAGE_COLUMNS = [c for c in image.c if c.name not in _BOOKKEEPING]
_VIEW_FIELDS = [c.name for c in IMAGE_COLUMNS]


def _tags_of(conn: sa.Connection, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[str]]:
    tags: dict[uuid.UUID, list[str]] = {i: [] for i in ids}
    if ids:
        rows = conn.execute(
            sa.select(image_tag.c.image_id, image_tag.c.tag).where(image_tag.c.image_id.in_(ids))
        )
        for image_id, tag in rows:
            tags[image_id].append(tag)
    return tags


def _view(row: Mapping[Any, Any], tags: Iterable[str]) -> ImageView:
    values = {name: row[name] for name in _VIEW_FIELDS}
    values["locations"] = tuple(values["locations"])
    return ImageView(**values, tags=tuple(sorted(tags)))


def view_of_created(recorded: RecordedEvent, event: ImageCreated) -> ImageView:
    """The view of a just-created image: exactly the row its projection wrote, without reading it.

    Answers the create request; every later read goes to the view tables.
    """
    return _view(created_row(recorded, event), event.tags)


def view_of_image(image: Image) -> ImageView:
    """The view of an image rebuilt from its events (a past state, `?as_of=`): what the images
    projection's row would have been at that point, so that show renders both alike."""
    assert image.status is not None, "never created"
    assert image.created_at is not None
    assert image.updated_at is not None
    return ImageView(
        id=image.id,
        name=image.name,
        status=str(image.status),
        visibility=image.visibility,
        protected=image.protected,
        os_hidden=image.os_hidden,
        owner=image.owner,
        disk_format=image.disk_format,
        container_format=image.container_format,
        size=image.size,
        virtual_size=image.virtual_size,
        checksum=image.checksum,
        os_hash_algo=image.os_hash_algo,
        os_hash_value=image.os_hash_value,
        min_ram=image.min_ram,
        min_disk=image.min_disk,
        created_at=image.created_at,
        updated_at=image.updated_at,
        properties=image.import_progress.shown_in(image.properties),
        locations=tuple(
            {"url": loc.url, "store": loc.store}
            for loc in (*image.rejected_locations, *image.locations)
        ),
        tags=tuple(sorted(image.tags)),
    )


# Built once: a statement built per call would be compiled, or at least hashed, every time.
_GET_IMAGE = (
    sa.select(*IMAGE_COLUMNS, image_tag.c.tag)
    .outerjoin(image_tag, image_tag.c.image_id == image.c.id)
    .where(image.c.id == sa.bindparam("id"), image.c.status != "pending_delete")
)
_IS_MEMBER = sa.select(image_member.c.member).where(
    image_member.c.image_id == sa.bindparam("id"), image_member.c.member == sa.bindparam("member")
)


def get_image(conn: sa.Connection, image_id: uuid.UUID) -> ImageView | None:
    """The image with this id, whoever may see it (callers apply the visibility rule); None
    for one pending deletion too, which exists for no one."""
    rows = conn.execute(_GET_IMAGE, {"id": image_id}).all()
    if not rows:
        return None
    tags = [row.tag for row in rows if row.tag is not None]
    return _view(rows[0]._mapping, tags)


def is_member(conn: sa.Connection, image_id: uuid.UUID, project_id: str | None) -> bool:
    if project_id is None:
        return False
    return conn.execute(_IS_MEMBER, {"id": image_id, "member": project_id}).first() is not None


@dataclass(frozen=True)
class FoundImage:
    view: ImageView
    is_member: bool
    """The caller's project is one the image is shared with."""


def find_image(
    conn: sa.Connection, image_id: uuid.UUID, project_id: str | None
) -> FoundImage | None:
    """The image with this id, whoever may see it (the policy decides), and whether it is
    shared with `project_id` (asked only of a shared image of another project)."""
    view = get_image(conn, image_id)
    if view is None:
        return None
    shared = view.visibility == "shared" and view.owner != project_id
    return FoundImage(view, shared and is_member(conn, image_id, project_id))


def image_views(conn: sa.Connection, rows: Sequence[sa.Row[Any]]) -> list[ImageView]:
    """Views of image rows, with their tags (one more query for the whole page)."""
    tags = _tags_of(conn, [r.id for r in rows])
    return [_view(r._mapping, tags[r.id]) for r in rows]


def ids_with_data_in_flight(conn: sa.Connection) -> list[uuid.UUID]:
    """Images with bytes streaming in: uploads, stagings, copies (for recovery)."""
    rows = conn.execute(
        sa.select(image.c.id).where(
            image.c.status.in_(("saving", "uploading")) | (image.c.copies_in_progress > 0)
        )
    )
    return list(rows.scalars())


@dataclass(frozen=True)
class MemberView:
    image_id: uuid.UUID
    member_id: str
    status: str
    created_at: datetime
    updated_at: datetime


_MEMBER_COLUMNS = (
    image_member.c.image_id,
    image_member.c.member.label("member_id"),
    image_member.c.status,
    image_member.c.created_at,
    image_member.c.updated_at,
)


def list_members(
    conn: sa.Connection, image_id: uuid.UUID, only: str | None = None
) -> list[MemberView]:
    """The image's members (oldest first), or just `only`'s membership."""
    query = sa.select(*_MEMBER_COLUMNS).where(image_member.c.image_id == image_id)
    if only is not None:
        query = query.where(image_member.c.member == only)
    rows = conn.execute(query.order_by(image_member.c.created_at, image_member.c.member))
    return [MemberView(**row._mapping) for row in rows]
