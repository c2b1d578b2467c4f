"""An image's fold in its stored form (what the notifications consumer keeps in the database
for images it pushed out of memory) notifies the rest of the image's life exactly as the fold it
was stored from, stored after any event of any type; other kinds have no stored form."""

from __future__ import annotations

import uuid

import pytest

from catalog.events import DomainEvent, ImageTagAdded
from catalog.notifications import (
    ImageNotifications,
    NamespaceNotifications,
    Notification,
    TaskNotifications,
)
from catalog.snapshots import _catalog_imports, fingerprint
from tests.unit.test_image_notification_state import FROM_GLANCE, MADE_HERE, UPLOADED_HERE, at
from tests.unit.test_notification_replay import IMAGE_LIFE

LIVES = [
    pytest.param(MADE_HERE, id="made here"),
    pytest.param(UPLOADED_HERE, id="uploaded"),
    pytest.param(FROM_GLANCE, id="from Glance"),
    pytest.param(IMAGE_LIFE, id="memberships"),
]


def written(notifications: list[Notification]) -> list[tuple[Notification, str | None]]:
    """The notifications and the payload text each carries (which equality leaves out)."""
    return [(n, n.payload_json) for n in notifications]


@pytest.mark.parametrize("life", LIVES)
def test_a_restored_fold_notifies_the_rest_of_the_life_as_the_fold_it_was_stored_from(
    life: tuple[DomainEvent, ...],
) -> None:
    image_id = uuid.uuid4()
    live = ImageNotifications.start(image_id)
    said = [written(live.advance(event, at(i))) for i, event in enumerate(life)]

    for stored_after in range(1, len(life)):
        folded = ImageNotifications.start(image_id)
        for i, event in enumerate(life[:stored_after]):
            folded.advance(event, at(i))
        stored = folded.stored()
        restored = ImageNotifications.restored(image_id, stored_after, stored)

        assert restored.version == stored_after
        assert restored.stored() == stored  # nothing lost on the way back
        rest = [
            written(restored.advance(event, at(i)))
            for i, event in enumerate(life)
            if i >= stored_after
        ]
        assert rest == said[stored_after:], type(life[stored_after - 1]).__name__
        assert restored.ended == live.ended


def test_a_restored_fold_shares_the_texts_images_repeat() -> None:
    image_id = uuid.uuid4()
    fold = ImageNotifications.start(image_id)
    for i, event in enumerate(MADE_HERE[:16]):
        fold.advance(event, at(i))
    restored = ImageNotifications.restored(image_id, 16, fold.stored())

    assert restored.image.owner is fold.image.owner
    restored.advance(ImageTagAdded(tag="later"), at(20))
    assert "later" in restored.image.tags
    assert "later" not in fold.image.tags


@pytest.mark.parametrize("kind", [TaskNotifications, NamespaceNotifications])
def test_tasks_and_namespaces_have_no_stored_form(
    kind: type[TaskNotifications | NamespaceNotifications],
) -> None:
    assert not kind.stored_form
    with pytest.raises(TypeError, match="no stored form"):
        kind.start(uuid.uuid4()).stored()
    with pytest.raises(TypeError, match="no stored form"):
        kind.restored(uuid.uuid4(), 1, "[]")


def test_a_stored_folds_fingerprint_covers_the_state_and_the_events() -> None:
    covered = _catalog_imports(ImageNotifications.__module__)
    assert {"catalog.notifications.image_state", "catalog.events.image"} <= covered
    assert "catalog.events.upcasters" in covered
    assert len(fingerprint(ImageNotifications)) == 64  # what the table's column holds
