"""Snapshots hold an aggregate's state faithfully, refuse what they cannot hold, and belong to
the code that made them. (That a state loaded from a snapshot equals the fold of its whole
stream, for every event type, is checked on every load the suite makes: tests/conftest.py.)"""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime

import pytest

from catalog.events import ImageCreated, ImageUploaded
from catalog.image import Image
from catalog.snapshots import (
    SnapshotUnsupported,
    _catalog_imports,
    _class_named,
    fingerprint,
    restore,
    take,
)
from catalog.task import Task

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def active_shared_image() -> Image:
    created = ImageCreated(
        name="base", owner="p", visibility="shared", disk_format="raw", container_format="bare"
    )
    image = Image.create(uuid.uuid4(), created, T0)
    image.start_upload(store="file", location="file:///x", expected_size=3, now=T0)
    done = ImageUploaded(
        store="file",
        location="file:///x",
        size=3,
        checksum="c" * 32,
        os_hash_algo="sha512",
        os_hash_value="h" * 128,
    )
    image.complete_upload(done, T0)
    image.add_tag("t", 10, T0)
    image.add_member("q", 10, T0)
    image.pending = []  # as if appended
    return image


def test_a_restored_image_is_the_image_it_was_taken_of() -> None:
    image = active_shared_image()
    restored = restore(Image, take(image, T0))
    assert restored.version == image.version
    assert vars(restored) == vars(image)  # enums, events, dataclasses, sets and all


def test_a_snapshot_is_of_one_kind_of_aggregate_and_of_the_code_that_made_it() -> None:
    taken = take(active_shared_image(), T0)
    with pytest.raises(ValueError, match="not a snapshot of Task"):
        restore(Task, taken)
    with pytest.raises(ValueError, match="made by this code"):
        restore(Image, dataclasses.replace(taken, fingerprint="0" * 64))


def test_the_fingerprint_covers_the_events_their_upcasters_and_the_fold() -> None:
    covered = _catalog_imports("catalog.image")
    assert {"catalog.image", "catalog.aggregate", "catalog.events.image"} <= covered
    assert "catalog.events.upcasters" in covered
    assert fingerprint(Image) != fingerprint(Task)


def test_a_value_snapshots_cannot_hold_is_refused_when_taken() -> None:
    image = active_shared_image()
    image.properties = {"k": object()}  # type: ignore[dict-item]
    with pytest.raises(SnapshotUnsupported, match="cannot hold a object"):
        take(image, T0)


@pytest.mark.parametrize("name", ["os:system", "builtins:eval", "catalog.image:Image"])
def test_a_snapshot_names_only_the_catalogs_own_value_classes(name: str) -> None:
    with pytest.raises(ValueError, match=r"outside the catalog|cannot hold"):
        _class_named(name, None)
