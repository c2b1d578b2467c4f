"""The location holders view keeps, for each image, exactly the locations the aggregate says it
holds (`Image.data_locations`), after every event: the view is that rule, fed by events."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from bench.event_history import history
from catalog.events import ImageCreated, ImageStaged, decode_json
from catalog.image import DataLocation, Image
from catalog.projections.location_holders import Held, fold, steps_of
from tests.unit.test_image import import_staged, uploaded

T0 = datetime(2026, 1, 1, tzinfo=UTC)
HERE, THERE = "file:///images/x", "s3://bucket/x"


def locations(held: Held) -> set[str]:
    return {location for location, _ in held}


def test_every_image_of_a_varied_history_holds_what_its_aggregate_says() -> None:
    rows = history(4000, seed=11)
    ways: set[str] = set()
    images = 0
    for stream_id, stream in itertools.groupby(
        sorted(rows, key=lambda r: (r.stream_id, r.version)), key=lambda r: r.stream_id
    ):
        image, held = Image(stream_id), Held()
        for row in stream:
            if row.event_type == "image.data_sent":
                break  # a download's stream of its own
            event = decode_json(row.event_type, row.schema_version, row.data)
            image.apply(event, row.occurred_at)
            fold(held, steps_of(event))
            assert locations(held) == set(image.data_locations), (stream_id, row.event_type)
            ways |= {way for _, way in held}
        images += image.created_at is not None
    assert images > 400
    assert ways == {"data", "copy", "upload", "staging"}


def test_what_an_image_holds_through_every_decision_about_its_data() -> None:
    """Uploads, staging, copies, removing a copy, delayed deletion, restore and scrubbing."""
    now = iter(T0 + timedelta(seconds=n) for n in itertools.count())
    image = Image.create(uuid.uuid4(), ImageCreated(disk_format="raw", container_format="bare"), T0)
    held: Held = set()

    def then(decide: Callable[[Image], object], expected: dict[str, str]) -> None:
        image.pending = []
        decide(image)
        for new in image.pending:
            fold(held, steps_of(new.event))
        assert held == {(location, way) for location, way in expected.items()}
        assert locations(held) == set(image.data_locations)

    then(
        lambda i: i.start_upload(store="file", location=HERE, expected_size=None, now=next(now)),
        {HERE: "upload"},
    )
    then(lambda i: i.fail_upload("gone", next(now)), {})
    then(
        lambda i: i.start_upload(
            store="file", location=HERE, expected_size=None, now=next(now), staging=True
        ),
        {HERE: "staging"},
    )
    staged = ImageStaged(size=3, checksum="c" * 32, os_hash_algo="sha512", os_hash_value="h" * 128)
    then(lambda i: i.complete_staging(staged, next(now)), {HERE: "staging"})
    then(lambda i: import_staged(i, next(now)), {HERE: "data"})
    then(lambda i: i.start_copy("s3", THERE, None, next(now)), {HERE: "data", THERE: "copy"})
    then(lambda i: i.fail_copy("s3", "broken", next(now)), {HERE: "data"})
    then(lambda i: i.start_copy("s3", THERE, None, next(now)), {HERE: "data", THERE: "copy"})
    then(lambda i: i.complete_copy("s3", next(now)), {HERE: "data", THERE: "data"})
    then(lambda i: i.remove_location("file", next(now)), {THERE: "data"})
    then(lambda i: i.start_copy("file", HERE, None, next(now)), {THERE: "data", HERE: "copy"})
    # Pending deletion: the data stays the image's; the copy streaming in goes at once.
    then(lambda i: i.delete(next(now), delayed=True), {THERE: "data"})
    then(lambda i: i.restore(next(now)), {THERE: "data"})
    then(lambda i: i.delete(next(now), delayed=True), {THERE: "data"})
    then(lambda i: i.start_scrub(next(now)), {THERE: "data"})
    then(lambda i: i.record_store_scrubbed(DataLocation("s3", THERE), next(now)), {})
    then(lambda i: i.finish_scrub(next(now)), {})


def test_a_deleted_image_holds_nothing() -> None:
    image = Image.create(uuid.uuid4(), ImageCreated(disk_format="raw", container_format="bare"), T0)
    image.start_upload(store="file", location=HERE, expected_size=None, now=T0)
    image.complete_upload(uploaded(HERE), T0)
    image.start_copy("s3", THERE, None, T0)
    image.delete(T0)
    held: Held = set()
    for new in image.pending:
        fold(held, steps_of(new.event))
    assert held == set()
    assert image.data_locations == []
