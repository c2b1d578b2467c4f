"""Applying PATCH operations to an image: Glance's rules, decided as one `ImageUpdated`.

Pure: works on a copy of the image's state and returns the event to record, or None when the
operations change nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict

from catalog.errors import ACCESS_DENIED, BadRequest, Conflict, Forbidden, TooLarge
from catalog.events import ImageUpdated
from catalog.policy import reserved
from catalog.policy.property_protections import Operation, PropertyCheck, every_property

if TYPE_CHECKING:
    from catalog.image import Image

BASE_ATTRIBUTES = (
    "name",
    "visibility",
    "protected",
    "os_hidden",
    "min_ram",
    "min_disk",
    "owner",
    "disk_format",
    "container_format",
    "tags",
)
FORMAT_ATTRIBUTES = ("disk_format", "container_format")
FORMAT_CHANGE_STATUSES = ("queued", "importing")
MINIMUMS = ("min_ram", "min_disk")
MINIMUM_LIMIT = 2**31 - 1
"""The largest min_ram / min_disk: they are 32-bit columns, in Glance's database as here."""
CONFLICT = "There was a conflict when trying to complete your request."


class PatchOperation(BaseModel):
    """One operation of a PATCH, on a top-level attribute or custom property."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    op: Literal["add", "replace", "remove"]
    name: str
    value: Any = None
    add_requires_absent: bool = False
    """The older media type (v2.0) refuses to `add` what is already there."""


def plan_update(
    image: Image,
    operations: list[PatchOperation],
    *,
    tag_quota: int,
    property_quota: int,
    may: PropertyCheck = every_property,
) -> ImageUpdated | None:
    """`may`: what the caller may do to custom properties (the property protections); the
    properties they may not read stay as they are, and to them they are not there."""
    attributes: dict[str, Any] = {}
    properties = dict(image.properties)
    tags: set[str] | None = None
    for operation in operations:
        if operation.name in BASE_ATTRIBUTES:
            value = _base_attribute(image, operation)
            if operation.name == "tags":
                tags = set(value)
            else:
                attributes[operation.name] = value
        else:
            _custom_property(properties, operation, may)
    _check_quotas(image, properties, tags, tag_quota, property_quota)

    changed = {k: v for k, v in attributes.items() if getattr(image, k) != v}
    set_properties = {k: v for k, v in properties.items() if image.properties.get(k) != v}
    removed = tuple(k for k in image.properties if k not in properties)
    new_tags = tuple(sorted(tags)) if tags is not None and tags != image.tags else None
    if not (changed or set_properties or removed or new_tags is not None):
        return None
    return ImageUpdated(
        attributes=changed, properties=set_properties, removed_properties=removed, tags=new_tags
    )


def _base_attribute(image: Image, operation: PatchOperation) -> Any:
    name = operation.name
    if operation.op == "remove":
        raise Forbidden(ACCESS_DENIED, detail=f"Property {name} may not be removed.")
    if operation.op == "add" and operation.add_requires_absent:
        raise Conflict(CONFLICT, detail=f"Property {name} already present.")
    if name in FORMAT_ATTRIBUTES and image.status not in FORMAT_CHANGE_STATUSES:
        raise Forbidden(f"Attribute {name} can be only replaced for a queued image.")
    if name in MINIMUMS:
        check_minimum(name, operation.value)
    return operation.value


def _custom_property(
    properties: dict[str, str], operation: PatchOperation, may: PropertyCheck
) -> None:
    name = operation.name
    present = name in properties and may(name, "read")
    if operation.op in ("remove", "replace") and not present:
        raise Conflict(CONFLICT, detail=f"Property {name} does not exist.")
    if operation.op == "add" and present and operation.add_requires_absent:
        raise Conflict(CONFLICT, detail=f"Property {name} already present.")
    needed: Operation = "delete" if operation.op == "remove" else "update" if present else "create"
    if not may(name, needed):
        raise reserved(name)
    if operation.op == "remove":
        del properties[name]
    else:
        properties[name] = operation.value


def _check_quotas(
    image: Image,
    properties: dict[str, str],
    tags: set[str] | None,
    tag_quota: int,
    property_quota: int,
) -> None:
    if tags is not None:
        check_tag_quota(len(tags), tag_quota)
    if len(properties) > len(image.properties):
        check_property_quota(len(properties), property_quota)


def check_tag_quota(count: int, quota: int) -> None:
    """413 when an image would have more tags than allowed (a negative quota: no limit)."""
    if 0 <= quota < count:
        raise TooLarge(
            "The limit has been exceeded on the number of allowed image tags."
            f" Attempted: {count}, Maximum: {quota}"
        )


def check_property_quota(count: int, quota: int) -> None:
    """413 when an image would have more custom properties than allowed."""
    if 0 <= quota < count:
        raise TooLarge(
            "The limit has been exceeded on the number of allowed image properties."
            f" Attempted: {count}, Maximum: {quota}"
        )


def check_minimum(name: str, value: int) -> None:
    """min_ram (MB) or min_disk (GB): from 0 to MINIMUM_LIMIT, with Glance's messages."""
    if value < 0:
        raise BadRequest(
            f"Invalid value '{value}' for parameter '{name}': Cannot be a negative value"
        )
    if value > MINIMUM_LIMIT:
        raise BadRequest(f"'{name}' value out of range, must not exceed {MINIMUM_LIMIT}.")
