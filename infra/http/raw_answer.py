"""An answer written straight to a connection, before aiohttp has a request to answer: a head
too large, a connection beyond the limit. Glance-style (its HTML body, as for clients that do
not ask for JSON: the request's `Accept` is not known yet), and the connection closes after it.
"""

from __future__ import annotations

from http import HTTPStatus

from infra.http.errors import error_page


def raw_answer(status: int, message: str, *, retry_after: int | None = None) -> bytes:
    body = error_page(status, message).encode()
    head = [
        f"HTTP/1.1 {status} {HTTPStatus(status).phrase}",
        "Content-Type: text/html; charset=utf-8",
        f"Content-Length: {len(body)}",
        "Connection: close",
    ]
    if retry_after is not None:
        head.append(f"Retry-After: {retry_after}")
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body
