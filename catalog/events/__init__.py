"""Domain events, their stored envelope, the type registry and upcasters."""

from catalog.events.base import DomainEvent
from catalog.events.envelope import EventMetadata, NewEvent, RecordedEvent
from catalog.events.image import (
    ImageCreated,
    ImageDataSent,
    ImageDeactivated,
    ImageDeleted,
    ImageLocationAdded,
    ImageLocationRemoved,
    ImageMemberAdded,
    ImageMemberRemoved,
    ImageMemberStatusChanged,
    ImageReactivated,
    ImageStaged,
    ImageTagAdded,
    ImageTagRemoved,
    ImageUpdated,
    ImageUploaded,
    ImageUploadFailed,
    ImageUploadStarted,
)
from catalog.events.registry import decode, encode

__all__ = [
    "DomainEvent",
    "EventMetadata",
    "ImageCreated",
    "ImageDataSent",
    "ImageDeactivated",
    "ImageDeleted",
    "ImageLocationAdded",
    "ImageLocationRemoved",
    "ImageMemberAdded",
    "ImageMemberRemoved",
    "ImageMemberStatusChanged",
    "ImageReactivated",
    "ImageStaged",
    "ImageTagAdded",
    "ImageTagRemoved",
    "ImageUpdated",
    "ImageUploadFailed",
    "ImageUploadStarted",
    "ImageUploaded",
    "NewEvent",
    "RecordedEvent",
    "decode",
    "encode",
]
