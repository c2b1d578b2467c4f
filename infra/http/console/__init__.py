"""The web console at `/console/`: static files shipped in the package (`static/`), run in the
browser, that read and show the catalog through its own API, as the signed-in caller.

The server adds nothing the API does not answer: it serves the files, says how callers sign in
(`config.json`) and, with Keystone, exchanges a user's password for a token (`sign-in`). Every
image the console shows comes from an API call made with the caller's own identity.
"""

from __future__ import annotations

from pathlib import Path

CONSOLE_PATH = "/console"
STATIC_DIR = Path(__file__).parent / "static"
INDEX = "index.html"
CONFIG_NAME = "config.json"
SIGN_IN_NAME = "sign-in"


def shipped_files() -> list[str]:
    """The names of the files the console is made of (one folder, no subfolders)."""
    return sorted(path.name for path in STATIC_DIR.iterdir() if path.is_file())


def console_paths() -> frozenset[str]:
    """Every path the console serves: open to anyone, like `/versions` (what they answer says
    nothing of any caller's data; the API calls the console makes carry the caller's identity)."""
    names = [*shipped_files(), CONFIG_NAME, SIGN_IN_NAME, ""]
    return frozenset({CONSOLE_PATH, *(f"{CONSOLE_PATH}/{name}" for name in names)})
