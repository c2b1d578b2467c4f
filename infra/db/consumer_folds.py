"""The folds a consumer keeps in the database: the state it derived from a stream's events up to
a version, for the streams it pushed out of memory (the notifications consumer's images, once a
log has more of them alive than it keeps at hand).

Derived data, written in the transaction of a batch of the consumer's source (only folds of
events the log holds: never one of an append that may yet fail): losing one costs reading and
folding its stream's history again, nothing else. A fold is read back only when made by the
code running now (its `fingerprint`); any fold of a stream at a version is that stream's state
at that version whichever process wrote it. A stream's fold goes when the stream ends (the
image deleted) if the process that ends it read the fold from here; one written meanwhile by
another process (a Kafka rebalance) stays behind, never read again.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable, Sequence
from typing import Any, NamedTuple

import sqlalchemy as sa

from infra.db.consumer_state import in_key_order
from infra.db.driver import DriverStatement
from infra.db.tables import consumer_fold


class StoredFold(NamedTuple):
    stream_id: uuid.UUID
    version: int
    fingerprint: str
    """The code that made it (catalog/snapshots.py's `fingerprint`)."""
    state: str


_STREAM_IDS = sa.ARRAY(sa.Uuid)
_READ = (
    consumer_fold.c.stream_id,
    consumer_fold.c.version,
    consumer_fold.c.fingerprint,
    consumer_fold.c.state,
)
"""A `StoredFold`'s columns."""

# One primary-key lookup per stream asked for, whatever the table held when the statement was
# planned: the lookup's `LIMIT` keeps it apart from the list, so no plan joins the two by hashing
# the consumer's every fold (which a generic plan made while the table was empty did, each batch,
# until the table's statistics were next gathered).
_PG_LOOKUP = (
    " FROM unnest(:streams) AS asked(stream_id) CROSS JOIN LATERAL"
    " (SELECT ctid, stream_id, version, fingerprint, state FROM consumer_fold"
    "  WHERE consumer = :consumer AND stream_id = asked.stream_id LIMIT 1) AS kept"
)
_PG_LOAD = DriverStatement(
    sa.text("SELECT kept.stream_id, kept.version, kept.fingerprint, kept.state" + _PG_LOOKUP)
    .bindparams(sa.bindparam("streams", type_=_STREAM_IDS))
    .columns(*_READ)
)
_LOAD = sa.select(*_READ).where(
    consumer_fold.c.consumer == sa.bindparam("consumer"),
    consumer_fold.c.stream_id.in_(sa.bindparam("streams", expanding=True)),
)

_UPSERT = (
    " ON CONFLICT (consumer, stream_id) DO UPDATE SET version = excluded.version,"
    " fingerprint = excluded.fingerprint, state = excluded.state"
)
"""A fold replaces the one kept: each is the stream's state at its version, and the last
written is the one likely to be read next (a consumer reset to an earlier place writes lower
versions than it wrote before; a fold older than needed is read with the events after it)."""
_PG_SAVE = DriverStatement(
    sa.text(
        "INSERT INTO consumer_fold (consumer, stream_id, version, fingerprint, state)"
        " SELECT CAST(:consumer AS varchar), * FROM unnest(:streams, :versions, :fingerprints,"
        " :states)" + _UPSERT
    ).bindparams(
        sa.bindparam("streams", type_=_STREAM_IDS),
        sa.bindparam("versions", type_=sa.ARRAY(sa.Integer)),
        sa.bindparam("fingerprints", type_=sa.ARRAY(sa.String)),
        sa.bindparam("states", type_=sa.ARRAY(sa.Text)),
    )
)
_SAVE = sa.text(
    "INSERT INTO consumer_fold (consumer, stream_id, version, fingerprint, state)"
    " VALUES (:consumer, :stream_id, :version, :fingerprint, :state)" + _UPSERT
).bindparams(sa.bindparam("stream_id", type_=sa.Uuid))

_PG_FORGET = DriverStatement(
    sa.text(
        "DELETE FROM consumer_fold USING (SELECT kept.ctid" + _PG_LOOKUP + ") AS gone"
        " WHERE consumer_fold.ctid = gone.ctid"
    ).bindparams(sa.bindparam("streams", type_=_STREAM_IDS))
)
_FORGET = sa.delete(consumer_fold).where(
    consumer_fold.c.consumer == sa.bindparam("consumer"),
    consumer_fold.c.stream_id.in_(sa.bindparam("streams", expanding=True)),
)


def load_folds(
    conn: sa.Connection, consumer: str, stream_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, StoredFold]:
    """The folds `consumer` kept of these streams, whatever code made them."""
    if not stream_ids:
        return {}
    params = {"consumer": consumer, "streams": list(stream_ids)}
    if conn.dialect.name == "postgresql":
        rows: Iterable[Sequence[Any]] = _PG_LOAD.fetch_in(conn, params)
    else:
        rows = conn.execute(_LOAD, params)
    return {row[0]: StoredFold(*row) for row in rows}


def save_folds(conn: sa.Connection, consumer: str, folds: Sequence[StoredFold]) -> None:
    """Keep these folds (one per stream), in place of any kept before."""
    if not folds:
        return
    # In key order: two processes writing the same streams' folds wait in one order.
    ordered = sorted(folds, key=lambda fold: fold.stream_id.int)
    if conn.dialect.name == "postgresql":
        columns = map(list, zip(*ordered, strict=True))  # one array per field, in its order
        arrays = dict(zip(("streams", "versions", "fingerprints", "states"), columns, strict=True))
        _PG_SAVE.execute_in(conn, {"consumer": consumer, **arrays})
        return
    conn.execute(_SAVE, [{"consumer": consumer, **fold._asdict()} for fold in ordered])


def forget_folds(conn: sa.Connection, consumer: str, stream_ids: Collection[uuid.UUID]) -> None:
    """No fold of these streams is kept any more (they ended)."""
    if not stream_ids:
        return
    streams = in_key_order(stream_ids)
    if conn.dialect.name == "postgresql":
        _PG_FORGET.execute_in(conn, {"consumer": consumer, "streams": streams})
        return
    conn.execute(_FORGET, {"consumer": consumer, "streams": streams})
