"""Payloads' JSON text put together from pieces, each exactly what `json.dumps` writes of it.

A consumer catching up writes a message for nearly every event, and `json.dumps` of a whole
image payload (a score of fields, the properties, the tags) costs several microseconds in
Python's encoder, most of it walking what did not change since the image's last event. So
what is costly to encode and changes rarely (an image's properties and tags) is kept as its
JSON text, and a payload's text is joined from such pieces and its plain values, each escaped
as `json.dumps` escapes it (in C, a fraction of a microsecond each). The text is
`json.dumps`'s with its defaults (ASCII only, `", "` and `": "` between items): what the
outbox kept before, byte for byte.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from json.encoder import encode_basestring_ascii
from typing import Any

quoted = encode_basestring_ascii
"""The JSON of a text: `json.dumps`'s own escaping (in C)."""


def json_value(value: Any) -> str:
    """`json.dumps(value)`: the plain values a payload holds written here, others by it."""
    kind = type(value)
    if kind is str:
        return quoted(value)
    if value is None:
        return "null"
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return int.__repr__(value)  # as json's encoder writes an int
    return json.dumps(value)


def with_items(text: str, more: Mapping[str, Any]) -> str:
    """The JSON of `{**payload, **more}`, given `text`, the JSON of `payload`: `more`'s items
    follow the payload's (none of its keys may be the payload's: a key a dict has already
    keeps its place, and the caller would have to say where)."""
    if not more:
        return text
    extra = json.dumps(more)
    return f"{text[:-1]}, {extra[1:]}" if text != "{}" else extra
