"""The location holders view: which images hold the bytes at each location.

Several images may point at the same bytes (a service attaches a location another image also
has), so bytes may only be removed once no other image holds them: commands ask this view
right before they remove any (`catalog/commands/shared_data.py`), and before they let a caller
attach a location that holds another image's data.

An image holds a location while it is not deleted and the location is (`held_as`):

- `data`: its data, uploaded, imported, attached or copied into another store; still held
  while the image is pending deletion, until the scrubber records the location removed;
- `copy`: a copy streaming into another store (copy-image);
- `upload`: an upload streaming in; `staging`: staged bytes, streaming in or waiting for
  their import.

That is `Image.data_locations`, kept per location. Locations are kept as the events record
them: the catalog records each store's own spelling (`DataStore.location_for`).

Inline (one event, in the appending transaction) and in a rebuild (a batch of events) the
same steps are folded over the image's current rows and only what differs is written, so the
two paths cannot disagree.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Mapping, Sequence, Set
from typing import NamedTuple

import sqlalchemy as sa

from catalog.events import (
    DomainEvent,
    ImageCopied,
    ImageCopyFailed,
    ImageCopyStarted,
    ImageDeleted,
    ImageDeletePending,
    ImageImported,
    ImageLocationAdded,
    ImageLocationRemoved,
    ImageMigrated,
    ImageScrubbed,
    ImageUploaded,
    ImageUploadFailed,
    ImageUploadStarted,
    RecordedEvent,
    ReplayEvent,
)
from catalog.projections.base import BatchWrite, RowInserter
from catalog.projections.by_ids import id_batches, one_of_ids
from catalog.projections.per_stream import PerStream
from catalog.projections.schema import metadata

location_holder = sa.Table(
    "location_holder",
    metadata,
    sa.Column("location", sa.Text, primary_key=True),
    sa.Column("image_id", sa.Uuid, primary_key=True),
    sa.Column("held_as", sa.String(10), primary_key=True),
    sa.Index(None, "image_id"),
)

DATA, COPY, UPLOAD, STAGING = "data", "copy", "upload", "staging"
_STREAMING_IN = frozenset({UPLOAD, STAGING})
_EVERY_WAY = frozenset({DATA, COPY, UPLOAD, STAGING})


class Hold(NamedTuple):
    location: str
    held_as: str


class Release(NamedTuple):
    """Let go of what is held in one of the ways `held_as`: at `location`, or anywhere."""

    held_as: frozenset[str]
    location: str | None = None


Step = Hold | Release
Held = set[tuple[str, str]]
"""One image's rows: (location, held_as)."""


def steps_of(event: DomainEvent) -> tuple[Step, ...]:
    """What `event` changes in what its image holds (nothing for most events)."""
    if type(event) not in _HOLDING_EVENTS:  # exact type first: a rebuild asks millions of times
        return ()
    match event:
        case ImageUploadStarted():
            return (Hold(event.location, STAGING if event.staging else UPLOAD),)
        case ImageUploadFailed():
            return (Release(_STREAMING_IN),)
        case ImageUploaded() | ImageLocationAdded():
            return Release(_STREAMING_IN), Hold(event.location, DATA)
        case ImageImported():  # the staged bytes are now data where the import copied them
            return (Release(_STREAMING_IN),)
        case ImageCopyStarted():
            return (Hold(event.location, COPY),)
        case ImageCopyFailed():
            return (Release(frozenset({COPY}), event.location),)
        case ImageCopied():
            return Release(frozenset({COPY}), event.location), Hold(event.location, DATA)
        case ImageLocationRemoved():
            return (Release(frozenset({DATA}), event.location),)
        case ImageMigrated(glance=glance):
            if glance.status == "deleted":
                return ()
            return tuple(Hold(location.url, DATA) for location in glance.locations)
        case ImageDeletePending():
            # Copies still streaming went with the deletion; the data stays for the scrubber.
            return (Release(frozenset({COPY})),)
        case _:  # deleted, or scrubbed: nothing is held any more
            return (Release(_EVERY_WAY),)


_HOLDING_EVENTS = frozenset(
    {
        ImageUploadStarted,
        ImageUploadFailed,
        ImageUploaded,
        ImageLocationAdded,
        ImageImported,
        ImageCopyStarted,
        ImageCopyFailed,
        ImageCopied,
        ImageLocationRemoved,
        ImageDeletePending,
        ImageDeleted,
        ImageScrubbed,
        ImageMigrated,
    }
)


def fold(held: Held, steps: Sequence[Step]) -> None:
    """Apply `steps` to one image's rows, in place."""
    for step in steps:
        if type(step) is Hold:
            held.add((step.location, step.held_as))
        else:
            assert type(step) is Release
            held.difference_update(
                [
                    (location, way)
                    for location, way in held
                    if way in step.held_as and step.location in (None, location)
                ]
            )


class LocationHoldersProjection:
    name: str = "location_holders"
    tables: tuple[sa.Table, ...] = (location_holder,)

    def apply(self, conn: sa.Connection, recorded: RecordedEvent, event: DomainEvent) -> None:
        steps = steps_of(event)
        if steps:
            _per_stream(location_holder).apply(conn, [(recorded.stream_id, steps)])

    def prepare_batch(
        self,
        events: Sequence[ReplayEvent],
        tables: Mapping[str, sa.Table] | None = None,
        *,
        new_streams: Set[uuid.UUID] = frozenset(),
    ) -> BatchWrite:
        changes = [(e.stream_id, steps) for e in events if (steps := steps_of(e.event))]
        table = (tables or {}).get(location_holder.name, location_holder)
        return _per_stream(table).prepare(changes, new_streams)


class _Writes(NamedTuple):
    gone: list[dict[str, object]]
    added: list[dict[str, object]]


@functools.cache
def _per_stream(table: sa.Table) -> PerStream[Held, Sequence[Step], _Writes]:
    """Changes (image id and steps, in log order) folded over the images' rows in `table`,
    then only the rows that came (added by the `RowInserter`) or went written."""
    return PerStream(functools.partial(_load, table), _folded, functools.partial(_write, table))


def _folded(
    before: Mapping[uuid.UUID, Held], changes: Sequence[tuple[uuid.UUID, Sequence[Step]]]
) -> _Writes:
    after = {image_id: set(before.get(image_id, ())) for image_id, _ in changes}
    for image_id, steps in changes:
        fold(after[image_id], steps)
    writes = _Writes([], [])
    for image_id, now in after.items():
        was = before.get(image_id, set())
        writes.gone.extend(_row(image_id, held) for held in was - now)
        writes.added.extend(_row(image_id, held) for held in now - was)
    return writes


def _write(table: sa.Table, conn: sa.Connection, writes: _Writes, insert: RowInserter) -> None:
    if writes.gone:
        match = (c == sa.bindparam(c.name) for c in table.c)
        conn.execute(sa.delete(table).where(*match), writes.gone)
    insert(conn, table, writes.added)


def _row(image_id: uuid.UUID, held: tuple[str, str]) -> dict[str, object]:
    location, held_as = held
    return {"location": location, "image_id": image_id, "held_as": held_as}


def _load(table: sa.Table, conn: sa.Connection, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Held]:
    postgres = conn.dialect.name == "postgresql"
    query = sa.select(table.c.image_id, table.c.location, table.c.held_as).where(
        one_of_ids(table.c.image_id, postgres)
    )
    loaded: dict[uuid.UUID, Held] = {}
    for batch in id_batches(ids, postgres):
        for image_id, location, held_as in conn.execute(query, {"ids": list(batch)}):
            loaded.setdefault(image_id, set()).add((location, held_as))
    return loaded
