"""The location holders view: which images hold the bytes at each location.

Filled here from the log, so that bytes shared before this version are protected from the
first start on (the same rows a rebuild of the views makes).

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# As in catalog/projections/location_holders.py at the time of this migration (frozen here on
# purpose): what each event does to the locations its image holds.
_STREAMING_IN = ("upload", "staging")
_HOLDING_EVENTS = (
    "image.upload_started",
    "image.upload_failed",
    "image.uploaded",
    "image.location_added",
    "image.copy_started",
    "image.copy_failed",
    "image.copied",
    "image.location_removed",
    "image.delete_pending",
    "image.deleted",
    "image.scrubbed",
)

_event = sa.table(
    "event",
    sa.column("stream_id", sa.Uuid),
    sa.column("version", sa.Integer),
    sa.column("event_type", sa.String),
    sa.column("data", sa.JSON().with_variant(postgresql.JSONB(), "postgresql")),
)


def upgrade() -> None:
    holders = op.create_table(
        "location_holder",
        sa.Column("location", sa.Text, nullable=False),
        sa.Column("image_id", sa.Uuid, nullable=False),
        sa.Column("held_as", sa.String(10), nullable=False),
        sa.PrimaryKeyConstraint("location", "image_id", "held_as", name="pk_location_holder"),
    )
    op.create_index("ix_location_holder_image_id", "location_holder", ["image_id"])
    rows: list[dict[str, Any]] = []
    for row in _held_now():
        rows.append(row)
        if len(rows) == 10_000:
            op.bulk_insert(holders, rows)
            rows = []
    if rows:
        op.bulk_insert(holders, rows)


def _held_now() -> Iterator[dict[str, Any]]:
    """Every image's holdings, folded from its events."""
    query = (
        sa.select(_event.c.stream_id, _event.c.event_type, _event.c.data)
        .where(_event.c.event_type.in_(_HOLDING_EVENTS))
        .order_by(_event.c.stream_id, _event.c.version)
        .execution_options(yield_per=10_000)
    )
    image_id: Any = None
    held: set[tuple[str, str]] = set()
    for stream_id, event_type, data in op.get_bind().execute(query):
        if stream_id != image_id:
            yield from _rows(image_id, held)
            image_id, held = stream_id, set()
        _follow(held, event_type, data)
    yield from _rows(image_id, held)


def _rows(image_id: Any, held: set[tuple[str, str]]) -> Iterator[dict[str, Any]]:
    for location, held_as in held:
        yield {"location": location, "image_id": image_id, "held_as": held_as}


def _follow(held: set[tuple[str, str]], event_type: str, data: dict[str, Any]) -> None:
    location = str(data.get("location"))

    def drop(ways: tuple[str, ...], at: str | None = None) -> None:
        held.difference_update({(u, w) for u, w in held if w in ways and at in (None, u)})

    if event_type == "image.upload_started":
        held.add((location, "staging" if data.get("staging") else "upload"))
    elif event_type == "image.upload_failed":
        drop(_STREAMING_IN)
    elif event_type in ("image.uploaded", "image.location_added"):
        drop(_STREAMING_IN)
        held.add((location, "data"))
    elif event_type == "image.copy_started":
        held.add((location, "copy"))
    elif event_type in ("image.copy_failed", "image.copied"):
        drop(("copy",), location)
        if event_type == "image.copied":
            held.add((location, "data"))
    elif event_type == "image.location_removed":
        drop(("data",), location)
    elif event_type == "image.delete_pending":
        drop(("copy",))
    else:  # deleted, scrubbed
        held.clear()


def downgrade() -> None:
    op.drop_table("location_holder")
