"""Which images hold the bytes at a location, read from the location holders view."""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from catalog.projections.location_holders import location_holder

_HOLDERS = (
    sa.select(location_holder.c.image_id)
    .where(location_holder.c.location == sa.bindparam("location"))
    .distinct()
)


def holders_of(conn: sa.Connection, location: str) -> frozenset[uuid.UUID]:
    return frozenset(conn.execute(_HOLDERS, {"location": location}).scalars())
