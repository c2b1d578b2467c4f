"""Applying PATCH operations to an image: Glance's rules, decided as one `ImageUpdated`.

Pure: works on a copy of the image's state and returns the event to record, or None when the
operations change nothing.

Beyond Glance's `add`, `replace` and `remove` of top-level attributes, a PATCH may say what
clients that send the difference between two documents (openstacksdk, through `jsonpatch`)
write: `move` and `copy` (RFC 6902) between custom properties and tags, single tags by their
place in the list as shown (`/tags/0`, `/tags/-`), and `/stores` and an import's `os_glance_*`
progress written back as they were read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from catalog.errors import ACCESS_DENIED, BadRequest, Conflict, Forbidden, TooLarge
from catalog.events import ImageUpdated
from catalog.import_progress import PROGRESS
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
TAG_LENGTH_LIMIT = 255
STORES = "stores"
"""Where the image's data is (`fast,bulk`): shown with the image, kept by its uploads and copies."""
CONFLICT = "There was a conflict when trying to complete your request."


class Pointer(BaseModel):
    """What an operation names: a top-level attribute or custom property, or one tag."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    index: Annotated[int, Field(ge=0)] | Literal["-"] | None = None
    """`/tags/<index>`: the tag at that place in the list as shown (sorted); `-`: after the last."""

    def __str__(self) -> str:
        return f"/{self.name}" if self.index is None else f"/{self.name}/{self.index}"


class PatchOperation(BaseModel):
    """One operation of a PATCH."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    op: Literal["add", "replace", "remove", "move", "copy"]
    path: Pointer
    value: Any = None
    source: Pointer | None = None
    """`move` and `copy`: where the value comes from (the operation's `from`)."""
    add_requires_absent: bool = False
    """The older media type (v2.0) refuses to `add` what is already there."""

    @property
    def name(self) -> str:
        return self.path.name


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
    draft = _Draft(image, may)
    for operation in operations:
        draft.apply(operation)
    tags = set(draft.tags) if draft.tags is not None else None
    _check_quotas(image, draft.properties, tags, tag_quota, property_quota)

    changed = {k: v for k, v in draft.attributes.items() if getattr(image, k) != v}
    set_properties = {k: v for k, v in draft.properties.items() if image.properties.get(k) != v}
    removed = tuple(k for k in image.properties if k not in draft.properties)
    new_tags = tuple(sorted(tags)) if tags is not None and tags != image.tags else None
    if not (changed or set_properties or removed or new_tags is not None):
        return None
    return ImageUpdated(
        attributes=changed, properties=set_properties, removed_properties=removed, tags=new_tags
    )


class _Draft:
    """The image as the operations so far leave it."""

    def __init__(self, image: Image, may: PropertyCheck) -> None:
        self.image = image
        self.may = may
        self.attributes: dict[str, Any] = {}
        self.properties = dict(image.properties)
        self.tags: list[str] | None = None
        """The tags as a list while operations address them one by one; None: untouched."""

    def apply(self, operation: PatchOperation) -> None:
        if operation.source is None:
            self._write(operation)
            return
        for pointer in (operation.source, operation.path):
            _check_movable(operation, pointer)
        value = self._read(operation.source)
        if operation.op == "move":
            self._write(PatchOperation(op="remove", path=operation.source))
        self._write(PatchOperation(op="add", path=operation.path, value=value))

    def tag_list(self) -> list[str]:
        return self.tags if self.tags is not None else sorted(self.image.tags)

    def _read(self, pointer: Pointer) -> Any:
        if pointer.index is not None:
            return self.tag_list()[_existing_tag(self.tag_list(), pointer)]
        if pointer.name in (shown := _shown(self.image)):
            return shown[pointer.name]
        if pointer.name in self.properties and self.may(pointer.name, "read"):
            return self.properties[pointer.name]
        raise Conflict(CONFLICT, detail=f"Property {pointer.name} does not exist.")

    def _write(self, operation: PatchOperation) -> None:
        name = operation.name
        if operation.path.index is not None:
            self.tags = _tags_written(self.tag_list(), operation)
        elif name == STORES or name in PROGRESS:
            _check_shown(self.image, operation)
        elif name == "tags":
            self.tags = list(_base_attribute(self.image, operation))
        elif name in BASE_ATTRIBUTES:
            self.attributes[name] = _base_attribute(self.image, operation)
        else:
            _custom_property(self.properties, operation, self.may)


def _check_movable(operation: PatchOperation, pointer: Pointer) -> None:
    """`move` and `copy` carry strings: custom properties and tags, and `/stores` as a source."""
    if pointer.index is None and (
        pointer.name in BASE_ATTRIBUTES or (pointer.name == STORES and pointer == operation.path)
    ):
        raise BadRequest(
            f"Operation `{operation.op}` cannot use {pointer}: it takes a custom property, a tag"
            " (/tags/<index>) or /stores, and puts it into a custom property or a tag."
        )


def _shown(image: Image) -> dict[str, str]:
    """What the image shows that only its data and imports change: `stores`, and the import's
    progress (`os_glance_*`)."""
    shown = image.import_progress.shown_in({})
    return {**({STORES: image.stores} if image.stores is not None else {}), **shown}


def _check_shown(image: Image, operation: PatchOperation) -> None:
    """`stores` tells where the data is, the `os_glance_*` progress how an import went; only
    copies, deletions in stores and imports change them. Removing one, or writing back what
    was read, changes nothing: clients that send the difference between the image as read and
    as they want it send exactly that."""
    name = operation.name
    if operation.op != "remove" and operation.value != _shown(image).get(name):
        reason = "read-only" if name == STORES else "reserved"
        raise Forbidden(f"Attribute '{name}' is {reason}.")


def _tags_written(tags: list[str], operation: PatchOperation) -> list[str]:
    """The tag list after an operation on one of its tags."""
    written = list(tags)
    index = operation.path.index
    if operation.op == "add":
        place = len(written) if index == "-" else index
        if not isinstance(place, int) or place > len(written):
            raise Conflict(
                CONFLICT,
                detail=f"Cannot add a tag at {operation.path}: the image has {len(written)} tags.",
            )
        written.insert(place, _tag(operation.value))
    elif operation.op == "remove":
        del written[_existing_tag(written, operation.path)]
    else:
        written[_existing_tag(written, operation.path)] = _tag(operation.value)
    return written


def _existing_tag(tags: list[str], pointer: Pointer) -> int:
    if not isinstance(pointer.index, int) or pointer.index >= len(tags):
        raise Conflict(CONFLICT, detail=f"There is no tag at {pointer}.")
    return pointer.index


def _tag(value: Any) -> str:
    if not isinstance(value, str) or len(value) > TAG_LENGTH_LIMIT:
        raise BadRequest(f"A tag is a string of at most {TAG_LENGTH_LIMIT} characters.")
    return value


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
