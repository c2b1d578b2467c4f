"""The notifications consumer's kept folds: the most recent as objects, older ones packed,
within their bounds, then pushed out (to the database, for a kind with a stored form); a
packed fold notifies what it would have notified unpacked."""

from __future__ import annotations

import pickle
import uuid

import pytest

from catalog.events import (
    ImageCreated,
    ImageDeleted,
    ImageMemberAdded,
    ImageTagAdded,
    TaskCreated,
)
from catalog.notifications import ImageNotifications, TaskNotifications
from infra.consumers import fold_cache
from infra.consumers.fold_cache import PACKED_ENTRY_BYTES, FoldCache
from tests.unit.test_glance_notifications import AT


def shared_image() -> ImageNotifications:
    fold = ImageNotifications.start(uuid.uuid4())
    fold.advance(ImageCreated(name="n", owner="proj-a", visibility="shared"), AT)
    fold.advance(ImageMemberAdded(member="proj-b"), AT)
    return fold


def test_the_most_recent_folds_are_kept_as_they_are() -> None:
    cache = FoldCache(streams=10, live=2, packed_bytes=1 << 20)
    folds = [shared_image() for _ in range(2)]
    for fold in folds:
        cache.keep(fold)

    assert [cache.version(fold.stream_id) for fold in folds] == [2, 2]
    assert cache.take(folds[0].stream_id) is folds[0]
    assert cache.take(folds[0].stream_id) is None  # taken: kept again once advanced
    assert len(cache) == 1


def test_older_folds_are_packed_and_notify_as_they_would_have() -> None:
    cache = FoldCache(streams=10, live=1, packed_bytes=1 << 20)
    older, newer = shared_image(), shared_image()
    twin = pickle.loads(pickle.dumps(older))  # the same fold, never packed by the cache
    cache.keep(older)
    cache.keep(newer)

    assert cache.version(older.stream_id) == 2
    unpacked = cache.take(older.stream_id)
    assert unpacked is not None
    assert unpacked is not older
    tag = ImageTagAdded(tag="t")
    assert unpacked.advance(tag, AT) == twin.advance(tag, AT)
    assert unpacked.version == 3


def test_the_oldest_packed_folds_go_beyond_the_streams_or_bytes_kept() -> None:
    by_count = FoldCache(streams=3, live=1, packed_bytes=1 << 20)
    size = len(shared_image().stored()) + PACKED_ENTRY_BYTES
    by_bytes = FoldCache(streams=10, live=1, packed_bytes=2 * size + size // 2)
    folds = [shared_image() for _ in range(5)]
    for cache in (by_count, by_bytes):
        for fold in folds:
            cache.keep(fold)

        assert len(cache) == 3
        assert [cache.version(f.stream_id) for f in folds] == [None, None, 2, 2, 2]
        pushed_out = cache.pushed_out()
        assert [(p.stream_id, p.version) for p in pushed_out] == [
            (f.stream_id, 2) for f in folds[:2]
        ]
        assert [p.stored for p in pushed_out] == [f.stored() for f in folds[:2]]
        assert cache.pushed_out() == []  # handed over once


def test_only_folds_with_a_stored_form_are_pushed_out_to_be_kept_elsewhere() -> None:
    cache = FoldCache(streams=1, live=1, packed_bytes=1 << 20)
    task = TaskNotifications.start(uuid.uuid4())
    task.advance(TaskCreated(type="import", input={}, owner="proj-a"), AT)
    image = shared_image()
    for fold in (task, image, shared_image()):
        cache.keep(fold)
    nothing = FoldCache(streams=0, live=1, packed_bytes=1 << 20)
    nothing.keep(image)

    assert [p.stream_id for p in cache.pushed_out()] == [image.stream_id]  # the task: gone
    assert [(p.stream_id, p.stored) for p in nothing.pushed_out()] == [
        (image.stream_id, image.stored())
    ]


def test_an_ended_fold_or_a_cache_of_nothing_keeps_nothing() -> None:
    cache = FoldCache(streams=10, live=1, packed_bytes=1 << 20)
    deleted = shared_image()
    cache.keep(deleted)
    deleted.advance(ImageDeleted(), AT)
    cache.keep(deleted)
    nothing = FoldCache(streams=0, live=1, packed_bytes=1 << 20)
    nothing.keep(shared_image())

    assert cache.version(deleted.stream_id) is None
    assert len(cache) == len(nothing) == 0


def test_folds_pushed_out_and_never_taken_are_kept_within_a_bound(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(fold_cache, "PUSHED_OUT_WAITING", 2)
    nothing = FoldCache(streams=0, live=1, packed_bytes=1 << 20)
    folds = [shared_image() for _ in range(3)]
    for fold in folds:
        nothing.keep(fold)

    assert [p.stream_id for p in nothing.pushed_out()] == [f.stream_id for f in folds[1:]]


def test_a_cache_says_which_streams_it_holds() -> None:
    cache = FoldCache(streams=2, live=1, packed_bytes=1 << 20)
    live, packed, gone = shared_image(), shared_image(), shared_image()
    for fold in (gone, packed, live):
        cache.keep(fold)

    assert [cache.holds(f.stream_id) for f in (live, packed, gone)] == [True, True, False]
