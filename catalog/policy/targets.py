"""What `%(key)s` in a rule reads: an image's attributes and custom properties, as Glance's
`ImageTarget` gives them, read only when a rule asks."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterator, Mapping
from datetime import datetime
from typing import Protocol

IMAGE_ATTRIBUTES = (
    "checksum",
    "container_format",
    "created_at",
    "disk_format",
    "extra_properties",
    "image_id",
    "member",
    "min_disk",
    "min_ram",
    "name",
    "os_hash_algo",
    "os_hash_value",
    "os_hidden",
    "owner",
    "protected",
    "size",
    "status",
    "tags",
    "updated_at",
    "virtual_size",
    "visibility",
)
ATTRIBUTES = frozenset(IMAGE_ATTRIBUTES)
ALIASES = {"id": "image_id", "project_id": "owner", "member_id": "member"}
"""Glance's names for some attributes in rules: the owner is the image's project."""


class ImageFacts(Protocol):
    """An image as rules see it: the aggregate deciding a command, or a view being shown."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def owner(self) -> str | None: ...
    @property
    def visibility(self) -> str: ...
    @property
    def name(self) -> str | None: ...
    @property
    def protected(self) -> bool: ...
    @property
    def os_hidden(self) -> bool: ...
    @property
    def disk_format(self) -> str | None: ...
    @property
    def container_format(self) -> str | None: ...
    @property
    def min_ram(self) -> int: ...
    @property
    def min_disk(self) -> int: ...
    @property
    def size(self) -> int | None: ...
    @property
    def virtual_size(self) -> int | None: ...
    @property
    def checksum(self) -> str | None: ...
    @property
    def os_hash_algo(self) -> str | None: ...
    @property
    def os_hash_value(self) -> str | None: ...
    @property
    def created_at(self) -> datetime | None: ...
    @property
    def updated_at(self) -> datetime | None: ...
    @property
    def properties(self) -> Mapping[str, str]: ...
    @property
    def tags(self) -> Collection[str]: ...


def member_for(image: ImageFacts, project_id: str | None) -> str | None:
    """The image's `member` in rules (`%(member_id)s`): the caller's project when the image is
    shared and someone else's, as Glance's database layer sets it on the images it finds."""
    if image.visibility == "shared" and project_id != image.owner:
        return project_id
    return None


class ImageTarget(Mapping[str, object]):
    """An image as a rule's target; a key that is neither an attribute nor a custom property
    is missing (the check reading it is false)."""

    def __init__(self, image: ImageFacts, member: str | None) -> None:
        self.image = image
        self.member = member

    @classmethod
    def asked_by(cls, image: ImageFacts, project_id: str | None) -> ImageTarget:
        """The image as rules see it when `project_id` asks."""
        return cls(image, member_for(image, project_id))

    def __getitem__(self, key: str) -> object:
        key = ALIASES.get(key, key)
        if key == "image_id":
            return self.image.id
        if key == "member":
            return self.member
        if key == "extra_properties":
            return self.image.properties
        if key in ATTRIBUTES:
            return getattr(self.image, key)
        return self.image.properties[key]

    def __iter__(self) -> Iterator[str]:
        yield from IMAGE_ATTRIBUTES
        yield from self.image.properties
        yield "project_id"

    def __len__(self) -> int:
        return len(IMAGE_ATTRIBUTES) + len(self.image.properties) + 1
