"""Glance's notifications, derived from the log: a module per kind of stream (images, tasks,
metadata definitions), what they share in `base`, and the registry of folds."""

from catalog.notifications.base import (
    ERROR,
    INFO,
    Notification,
    StreamNotifications,
    disabled,
)
from catalog.notifications.images import ImageNotifications, sent_notification
from catalog.notifications.metadefs import NamespaceNotifications
from catalog.notifications.registry import FOLDS
from catalog.notifications.tasks import TaskNotifications

__all__ = [
    "ERROR",
    "FOLDS",
    "INFO",
    "ImageNotifications",
    "NamespaceNotifications",
    "Notification",
    "StreamNotifications",
    "TaskNotifications",
    "disabled",
    "sent_notification",
]
