"""A project's usage, read from the image view, and the atomic check of a quota claim."""

from __future__ import annotations

import sqlalchemy as sa

from catalog.projections.images import image
from catalog.quotas import QuotaClaim, QuotaLimits, Usage, check

# Deleted images hold nothing; killed ones never held data. An image pending deletion no longer
# counts either (as in Glance, which soft-deletes it): its data is on its way out.
_GONE = ("deleted", "killed", "pending_delete")

# Bytes streaming in: an upload (`saving`), or a staging whose bytes are not all there yet (a
# staged image has its size).
_STREAMING_IN = sa.or_(
    image.c.status == "saving", sa.and_(image.c.status == "uploading", image.c.size.is_(None))
)

_USAGE = sa.select(
    sa.func.count(),
    sa.func.coalesce(sa.func.sum(sa.func.coalesce(image.c.size, 0) + image.c.reserved_bytes), 0),
    sa.func.count().filter(_STREAMING_IN),
).where(image.c.owner == sa.bindparam("project"), image.c.status.not_in(_GONE))


def project_usage(conn: sa.Connection, project: str) -> Usage:
    images, size, uploads = conn.execute(_USAGE, {"project": project}).one()
    return Usage(images=int(images), bytes=int(size), uploads=int(uploads))


def enforce_quota_claim(conn: sa.Connection, claim: QuotaClaim, limits: QuotaLimits) -> None:
    """Check `claim` inside the appending transaction, after every earlier claim of the same
    project has committed: on PostgreSQL a transaction lock per project orders them (SQLite
    has one writer, which orders everything)."""
    project_limits = limits.of(claim.project)
    if not project_limits.bounds(claim):
        return  # nothing to check, nor to serialise
    if conn.dialect.name == "postgresql":
        conn.execute(
            sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtext("quota:" + claim.project)))
        )
    check(claim, project_usage(conn, claim.project), project_limits)
