"""The console's static files, read once when the application is made, and how they are
answered: with the headers that keep a browser from running anything but the console's own
scripts, or loading anything from elsewhere."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from catalog.errors import NotFound
from infra.http.console import INDEX, STATIC_DIR, shipped_files
from infra.http.requests import reject_body

MEDIA_TYPES = {
    ".html": "text/html",
    ".js": "text/javascript",
    ".css": "text/css",
    ".svg": "image/svg+xml",
}
"""Fixed here rather than guessed from the system's MIME tables, which differ between hosts
(a module script served as anything but JavaScript is not run)."""

SECURITY_HEADERS = {
    # Scripts, styles, images and API calls from this origin only; no inline script or style,
    # no plugins, no framing; forms post nowhere else.
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    # Revalidated on each load, so a new version of the catalog serves its new console.
    "Cache-Control": "no-cache",
}


@dataclass(frozen=True)
class ConsoleFile:
    body: bytes
    media_type: str


class UnservableFile(Exception):
    """A shipped file of a kind the console does not serve."""


def load_files() -> dict[str, ConsoleFile]:
    """Every shipped file, by name; `UnservableFile` for one without a known media type."""
    files = {}
    for name in shipped_files():
        path = STATIC_DIR / name
        if path.suffix not in MEDIA_TYPES:
            raise UnservableFile(f"{path}: no media type is known for {path.suffix!r}")
        files[name] = ConsoleFile(path.read_bytes(), MEDIA_TYPES[path.suffix])
    return files


CONSOLE_FILES = web.AppKey("console_files", dict[str, ConsoleFile])


def secured(response: web.Response) -> web.Response:
    response.headers.update(SECURITY_HEADERS)
    return response


def _answer(request: web.Request, name: str) -> web.Response:
    reject_body(request)
    found = request.app[CONSOLE_FILES].get(name)
    if found is None:
        raise NotFound(f"The console has no file {name}.")
    return secured(web.Response(body=found.body, content_type=found.media_type, charset="utf-8"))


async def to_console(request: web.Request) -> web.Response:
    """`/console` → `/console/`: relative, so it holds behind a proxy's path prefix too."""
    reject_body(request)
    return web.Response(status=301, headers={"Location": "console/"})


async def index(request: web.Request) -> web.Response:
    return _answer(request, INDEX)


async def shipped_file(request: web.Request) -> web.Response:
    return _answer(request, request.match_info["name"])
