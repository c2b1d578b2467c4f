"""Which fold derives the notifications of each kind of stream: one line per kind."""

from __future__ import annotations

from catalog.notifications.base import StreamNotifications
from catalog.notifications.images import ImageNotifications
from catalog.notifications.metadefs import NamespaceNotifications
from catalog.notifications.tasks import TaskNotifications

FOLDS: dict[str, type[StreamNotifications]] = {
    "images": ImageNotifications,
    "tasks": TaskNotifications,
    "metadefs": NamespaceNotifications,
}
"""The kind of stream (an event's `aggregate`) -> the fold of its notifications."""
