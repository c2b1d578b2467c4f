"""Text from clients is taken only if every database can keep it, so both answer alike.

PostgreSQL refuses a NUL character in text and JSON (SQLite keeps it), and no database, nor
UTF-8 itself, can hold an unpaired UTF-16 surrogate. Such surrogates arrive through JSON's
`\\ud800` escapes, and through header bytes that are not UTF-8 (aiohttp keeps each as a
surrogate escape). Every way text comes in is checked here, with one rule: JSON bodies (in
`requests.json_body`), the URL's path parameters and query (`url_text_middleware`), and the
headers whose values become data (`text_header`).
"""

from __future__ import annotations

import re
from urllib.parse import unquote_to_bytes

from aiohttp import web
from aiohttp.typedefs import Handler

from catalog.errors import BadRequest

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _unstorable(where: str) -> BadRequest:
    return BadRequest(
        f"{where} holds text that cannot be stored: NUL characters, unpaired surrogates and "
        "bytes that are not UTF-8 are refused."
    )


def refuse_unstorable(text: str, where: str) -> None:
    """400 if `text` holds a NUL character or an unpaired surrogate; `where` names its place."""
    if _UNSTORABLE.search(text):
        raise _unstorable(where)


def text_header(request: web.Request, name: str) -> str | None:
    """A header whose value becomes data (an identity, a store's name), checked."""
    value = request.headers.get(name)
    if value is not None:
        refuse_unstorable(value, f"The {name} header")
    return value


@web.middleware
async def url_text_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Path parameters (a tag, a member id) and query parameters (filters) are checked once
    here for every route, before any view reads them."""
    try:
        # Percent-escapes that are not UTF-8 would otherwise arrive decoded as U+FFFD.
        unquote_to_bytes(request.raw_path).decode("utf-8")
    except UnicodeDecodeError as e:
        raise _unstorable("The request URL") from e
    for value in request.match_info.values():
        refuse_unstorable(value, "The request URL")
    for key, value in request.query.items():
        refuse_unstorable(key, "The request URL")
        refuse_unstorable(value, "The request URL")
    return await handler(request)
