"""The byte range a download asks for: `Range` (RFC 9110), or the legacy `Content-Range`.

One range per request, as Glance: clients make several requests for several ranges.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from multidict import CIMultiDictProxy

from catalog.errors import BadRequest, CatalogError

_RANGE = re.compile(r"bytes=(?:(\d+)-(\d*)|-(\d+))")
_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)")


# 19 digits reach past 2**63; no image is that long, and Python refuses to read very long
# numbers (more than 4300 digits) at all.
POSITION_DIGITS = 19
BEYOND_EVERY_IMAGE = 10**POSITION_DIGITS


class RangeNotSatisfiable(CatalogError):
    status = 416


def _position(digits: str) -> int:
    """A byte position as given; one with more digits than any image's size has reads as a
    position beyond every image (what it is), so the usual rules answer it."""
    significant = digits.lstrip("0")
    return int(significant or "0") if len(significant) <= POSITION_DIGITS else BEYOND_EVERY_IMAGE


@dataclass(frozen=True)
class ByteRange:
    offset: int
    length: int
    size: int
    """The whole image's size, for `Content-Range`."""

    @property
    def content_range(self) -> str:
        return f"bytes {self.offset}-{self.offset + self.length - 1}/{self.size}"


def requested_range(headers: CIMultiDictProxy[str], size: int) -> ByteRange | None:
    """The part of an image of `size` bytes that the request asks for; None for all of it."""
    if (value := headers.get("Range")) is not None:
        return _from_range(value.strip(), size)
    if (value := headers.get("Content-Range")) is not None:
        return _from_content_range(value.strip(), size)
    return None


def _from_range(value: str, size: int) -> ByteRange:
    if "," in value:
        raise BadRequest(
            "Requests with multiple ranges are not supported in Glance. "
            "You may make multiple single-range requests instead."
        )
    match = _RANGE.fullmatch(value)
    if match is None:
        raise RangeNotSatisfiable("Invalid Range header.")
    first, last, suffix = match.groups()
    if suffix is not None:
        # The last `suffix` bytes; more than the image has means all of it.
        length = min(_position(suffix), size)
        if length == 0:
            raise RangeNotSatisfiable("Invalid Range header.")
        return ByteRange(size - length, length, size)
    start = _position(first)
    if last and _position(last) < start:
        raise RangeNotSatisfiable("Invalid Range header.")
    if start >= size:
        raise RangeNotSatisfiable(
            "Invalid start position in Range header. "
            f"Start position MUST be in the inclusive range [0, {size - 1}]."
        )
    end = min(_position(last), size - 1) if last else size - 1
    return ByteRange(start, end - start + 1, size)


def _from_content_range(value: str, size: int) -> ByteRange:
    match = _CONTENT_RANGE.fullmatch(value)
    if match is None or _position(match[2]) < _position(match[1]):
        raise RangeNotSatisfiable("Invalid Content-Range header.")
    start, stop = _position(match[1]), _position(match[2]) + 1
    if stop > size:
        raise RangeNotSatisfiable(
            "Invalid stop position in Content-Range header. "
            f"The stop position MUST be in the inclusive range [0, {size - 1}]."
        )
    return ByteRange(start, stop - start, size)
