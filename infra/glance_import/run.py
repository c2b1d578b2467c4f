"""One run of `catalog import-glance`: every image of the Glance database, in turn, migrated or
followed (`catalog/commands/migrate_glance_image.py`), with a summary of what happened.

Each image's data stays where Glance left it: each location is given to the configured store
that holds it (by URL: a file store's folder, an S3 store's bucket, an http store), and its
bytes are looked for there. An image with a location no store holds is not imported (the
operator configures the store, then runs again); a location whose bytes are not found is
reported, and the image imported as Glance has it. `copy_to` copies the data of active images
into one more store, verified against Glance's hashes.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from pydantic import ValidationError

from catalog.commands.import_pipeline import DataSource, write_to_stores
from catalog.commands.migrate_glance_image import Migrated, MigrateGlanceImage
from catalog.errors import CatalogError, DatabaseUnavailable, NotFound
from catalog.events import EventMetadata
from catalog.events.glance_state import GlanceImage, GlanceLocation, GlanceMember
from catalog.identity import MIGRATION_ACTOR
from catalog.image import ImageStatus
from infra.bootstrap import Container
from infra.glance_import.source import GlanceDatabase, SourceImage

_WITH_DATA = ("active", "deactivated", "pending_delete")
FAILED = "failed"


class Progress(Protocol):
    def advance(self, done: int, total: int) -> None: ...
    def close(self) -> None: ...


class NoProgress:
    def advance(self, done: int, total: int) -> None:
        pass

    def close(self) -> None:
        pass


@dataclass
class Summary:
    """What a run did: a count per outcome, and a line for each thing to look at."""

    total: int = 0
    counts: Counter[str] = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)
    """One line each: why an image was skipped or failed, data not found, copies made."""

    def count(self, image_id: str, outcome: str, reason: str | None = None) -> None:
        self.counts[outcome] += 1
        if reason is not None:
            self.notes.append(f"{outcome} {image_id}: {reason}")

    @property
    def failed(self) -> int:
        return self.counts[FAILED]

    def lines(self) -> list[str]:
        outcomes = [*Migrated, FAILED]
        counted = ", ".join(f"{self.counts[str(o)]} {o}" for o in outcomes)
        return [f"import-glance: {self.total} images in Glance: {counted}", *self.notes]


class _NotImported(Exception):
    """The image cannot be migrated as things are; the reason is for the operator."""


async def import_glance(
    container: Container,
    database: GlanceDatabase,
    *,
    include_deleted: bool = False,
    copy_to: str | None = None,
    progress: Progress | None = None,
) -> Summary:
    """Bring every image of `database` into the catalog (images deleted in Glance only with
    `include_deleted`, or when a previous run brought them: then their deletion follows)."""
    progress = progress or NoProgress()
    if copy_to is not None:
        container.stores.writable(copy_to)  # a store that cannot take data stops the run first
    images = await asyncio.to_thread(database.read)
    summary = Summary(total=len(images))
    metadata = EventMetadata(actor=MIGRATION_ACTOR, request_id=f"req-import-glance-{uuid.uuid4()}")
    for done, source in enumerate(images, 1):
        await _import_one(container, source, metadata, summary, include_deleted, copy_to)
        progress.advance(done, len(images))
    progress.close()
    return summary


async def _import_one(
    container: Container,
    source: SourceImage,
    metadata: EventMetadata,
    summary: Summary,
    include_deleted: bool,
    copy_to: str | None,
) -> None:
    try:
        image_id = uuid.UUID(source.id)
        glance = _state(source, await _located(container, source, summary))
        command = MigrateGlanceImage(
            image_id=image_id,
            glance=glance,
            new_allowed=include_deleted or source.row["status"] != "deleted",
        )
        outcome: Migrated = await container.bus.dispatch(command, metadata)
    except DatabaseUnavailable:
        raise  # the catalog's own database: nothing more can be done in this run
    except ValidationError as e:  # a value the catalog cannot hold (a status it does not know)
        summary.count(source.id, FAILED, _in_words(e))
        return
    except (_NotImported, ValueError) as e:  # ValueError: an id that is no UUID
        summary.count(source.id, FAILED, str(e).splitlines()[0])
        return
    except CatalogError as e:
        summary.count(source.id, FAILED, e.message)
        return
    skipped = "deleted in Glance (--include-deleted imports it)"
    summary.count(source.id, outcome, skipped if outcome is Migrated.SKIPPED else None)
    if copy_to is not None and outcome is not Migrated.SKIPPED:
        await _copy(container, image_id, copy_to, metadata, summary)


def _in_words(error: ValidationError) -> str:
    return "; ".join(
        f"Glance's {'.'.join(str(part) for part in e['loc'])} {e['input']!r}: {e['msg']}"
        for e in error.errors()
    )


async def _located(
    container: Container, source: SourceImage, summary: Summary
) -> list[GlanceLocation]:
    """The image's locations, each given to the store that holds it; the ones whose bytes
    are not there are noted."""
    located = []
    for location in source.locations:
        try:
            name, store = container.stores.for_location(location.url)
        except CatalogError:
            raise _NotImported(f"its location {location.url} is in no configured store") from None
        located.append(GlanceLocation(url=location.url, store=name, metadata=location.metadata))
        if source.row["status"] not in _WITH_DATA:
            continue
        try:
            size = await store.size(location.url)
        except NotFound:
            summary.notes.append(f"data missing {source.id}: nothing at {location.url}")
        except CatalogError as e:
            summary.notes.append(f"data missing {source.id}: {location.url}: {e.message}")
        else:
            if size != source.row["size"]:
                summary.notes.append(
                    f"data differs {source.id}: {size} bytes at {location.url},"
                    f" Glance recorded {source.row['size']}"
                )
    return located


def _state(source: SourceImage, locations: Sequence[GlanceLocation]) -> GlanceImage:
    # Glance's columns of the same names (`updated_at` is empty until the first change).
    columns = (n for n in GlanceImage.model_fields if n in source.row and n != "updated_at")
    row: dict[str, Any] = {name: source.row[name] for name in columns}
    members = [
        GlanceMember(
            member=m["member"],
            status=m["status"],
            created_at=m["created_at"],
            updated_at=m["updated_at"] or m["created_at"],
        )
        for m in source.members
    ]
    return GlanceImage(
        **row,
        updated_at=source.row["updated_at"] or source.row["created_at"],
        properties=source.properties,
        tags=tuple(dict.fromkeys(source.tags)),
        members=tuple(members),
        locations=tuple(locations),
    )


async def _copy(
    container: Container,
    image_id: uuid.UUID,
    store: str,
    metadata: EventMetadata,
    summary: Summary,
) -> None:
    """The image's data into `store` too, if it is active and not there yet."""
    image = await container.bus.context.images.load(image_id)
    data = image.data
    if image.status is not ImageStatus.ACTIVE or data is None or not image.locations:
        return
    if any(location.store == store for location in image.locations):
        return
    if data.checksum is None or data.os_hash_value is None:
        summary.notes.append(f"not copied {image_id}: Glance recorded no hash to verify it by")
        return
    first = image.locations[0]
    source = DataSource(first.store, first.url, data.size, data.checksum, data.os_hash_value)
    context = container.bus.context
    try:
        await write_to_stores(context, metadata, image_id, source, [store], all_must_succeed=True)
    except CatalogError as e:
        summary.notes.append(f"not copied {image_id}: {e.message}")
    else:
        summary.notes.append(f"copied {image_id}: into store {store}")
