"""A stream's history folded with `replay` (nothing built for the events already notified)
leaves the fold where `advance` leaves it: the later events' notifications are the same."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import pytest

from catalog.events import (
    DomainEvent,
    ImageCreated,
    ImageDeleted,
    ImageMemberAdded,
    ImageMemberRemoved,
    ImageMemberStatusChanged,
    ImageTagAdded,
    ImageUpdated,
    ImageUploadStarted,
    TaskStarted,
    TaskSucceeded,
)
from catalog.events.metadefs import MetadefTagUpdated
from catalog.notifications import (
    ImageNotifications,
    NamespaceNotifications,
    StreamNotifications,
    TaskNotifications,
)
from tests.unit.test_glance_notifications import AT, UPLOADED
from tests.unit.test_metadef_notifications import CREATION, RENAMED
from tests.unit.test_task_notifications import CREATED, EXPIRES_AT

IMAGE_LIFE: tuple[DomainEvent, ...] = (
    ImageCreated(name="n", owner="proj-a"),
    ImageUploadStarted(store="file", location="file:///x"),
    UPLOADED,
    ImageMemberAdded(member="proj-b"),
    ImageTagAdded(tag="t"),
    ImageMemberStatusChanged(member="proj-b", status="accepted"),
    ImageMemberAdded(member="proj-c"),
    ImageMemberRemoved(member="proj-b"),
    ImageMemberAdded(member="proj-b"),  # again: a membership of its own
    ImageUpdated(attributes={"name": "m"}, properties={"p": "v"}),
    ImageMemberRemoved(member="proj-b"),
    ImageDeleted(locations=("file:///x",)),
)
TASK_LIFE: tuple[DomainEvent, ...] = (
    CREATED,
    TaskStarted(node_id="node-1"),
    TaskSucceeded(result={"image_id": "i"}, expires_at=EXPIRES_AT),
)
NAMESPACE_LIFE: tuple[DomainEvent, ...] = (
    *CREATION,
    RENAMED,
    MetadefTagUpdated(name="t1", new_name="t2"),
)
LIVES = [
    pytest.param(ImageNotifications, IMAGE_LIFE, id="image"),
    pytest.param(TaskNotifications, TASK_LIFE, id="task"),
    pytest.param(NamespaceNotifications, NAMESPACE_LIFE, id="namespace"),
]


def at(index: int) -> datetime:
    """Each event a minute after the one before: memberships and timestamps tell them apart."""
    return AT + timedelta(minutes=index)


@pytest.mark.parametrize(("fold", "life"), LIVES)
def test_a_replayed_history_notifies_the_rest_as_advancing_through_it_does(
    fold: type[StreamNotifications], life: tuple[DomainEvent, ...]
) -> None:
    stream_id = uuid.uuid4()
    advanced = fold.start(stream_id)
    said = [advanced.advance(event, at(i)) for i, event in enumerate(life)]

    for replayed_up_to in range(len(life)):
        replayed = fold.start(stream_id)
        for i, event in enumerate(life[:replayed_up_to]):
            replayed.replay(event, at(i))
        rest = [
            replayed.advance(event, at(i)) for i, event in enumerate(life) if i >= replayed_up_to
        ]
        assert rest == said[replayed_up_to:]
        assert replayed.version == advanced.version == len(life)
        assert replayed.ended == advanced.ended
