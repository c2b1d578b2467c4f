"""What every kind of Glance notification shares: the notification itself, Glance's timestamps,
switching types off, and the fold that derives a stream's notifications from its events.

Glance sends a notification from inside each request (`glance/notifier.py`); here they are
derived afterwards from the log, by folding a stream's events in order: the same event types,
priorities and payload fields as Glance, in the order Glance sends them for the same operation.
Pure: the envelope, its ids and its transport are the consumer's business.
"""

from __future__ import annotations

import uuid
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Self

from catalog.events import DomainEvent

INFO = "INFO"
ERROR = "ERROR"

Payload = dict[str, Any] | str


@dataclass(frozen=True)
class Notification:
    """One Glance notification: its type, priority and payload (a text for upload errors)."""

    event_type: str
    payload: Payload
    priority: str = INFO
    payload_json: str | None = field(default=None, compare=False)
    """`json.dumps(payload)`, when the notification's fold wrote it (from pieces it keeps
    written: an image's payload); else the message's writer encodes the payload. Derived
    from the payload, so not compared."""


def isotime(value: datetime | None) -> str | None:
    """Glance's timestamp format in payloads (`oslo_utils.timeutils.isotime`):
    `%Y-%m-%dT%H:%M:%SZ` of the time as given."""
    if value is None:
        return None
    if value.year < 1000:  # `strftime` leaves such a year unpadded, `isoformat` pads it
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    # The same text, several times faster: payloads carry a few each, for every event.
    # (`isoformat` without arguments: with `timespec` it costs three times as much here.)
    return value.isoformat()[:19] + "Z"


def deleted_at(payload: dict[str, Any], at: datetime) -> dict[str, Any]:
    """`payload` of something deleted at `at`, as Glance's `*.delete` notifications carry it."""
    return {**payload, "deleted": True, "deleted_at": isotime(at)}


def disabled(event_type: str, disabled_types: frozenset[str]) -> bool:
    """Whether `event_type` is switched off: named in full, or a group of it is (`image`,
    `image.member`, `task`, `metadef_tag`), matched on whole dot-separated parts (`image.up`
    disables nothing)."""
    parts = event_type.split(".")
    return any(".".join(parts[:n]) in disabled_types for n in range(1, len(parts) + 1))


class StreamNotifications(ABC):
    """The notifications of one stream (an image's, a task's, a namespace's), event by event:
    `advance` must see every event of the stream, in order."""

    __slots__ = ("stream_id", "version")

    def __init__(self, stream_id: uuid.UUID) -> None:
        self.stream_id = stream_id
        self.version = 0
        """The events folded so far."""

    @classmethod
    def start(cls, stream_id: uuid.UUID) -> Self:
        return cls(stream_id)

    @property
    def ended(self) -> bool:
        """Nothing comes after what was folded (the thing is gone): no use remembering it."""
        return False

    def advance(self, event: DomainEvent, at: datetime) -> list[Notification]:
        """Fold the stream's next event; the notifications Glance sends for it."""
        self.version += 1
        return self._notifications(event, at)

    def replay(self, event: DomainEvent, at: datetime) -> None:
        """Fold the stream's next event, whose notifications were sent already: the state the
        later events' notifications need, without building the ones nobody sends again (a
        consumer folding a stream's history costs the folding only)."""
        self.version += 1
        self._fold(event, at)

    stored_form: ClassVar[bool] = False
    """Whether the kind's folds have a stored form (`stored`, `restored`), to keep them
    outside the process (beside the consumer's place in the database); a kind without one is
    folded again from its stream's history when its fold is not at hand. Only a kind whose
    streams are many needs one (an image's); tasks end soon and namespaces are few."""

    def stored(self) -> str:
        """The fold as text, which `restored` reads back."""
        raise TypeError(f"{type(self).__name__}'s folds have no stored form")

    @classmethod
    def restored(cls, stream_id: uuid.UUID, version: int, stored: str) -> Self:
        """The fold `stored` gave, at `version` (what made it is the caller's to check)."""
        raise TypeError(f"{cls.__name__}'s folds have no stored form")

    @abstractmethod
    def _fold(self, event: DomainEvent, at: datetime) -> None:
        """What `event` changes in the state kept for later notifications."""

    @abstractmethod
    def _notifications(self, event: DomainEvent, at: datetime) -> list[Notification]:
        """`_fold`, and the notifications of `event`."""
