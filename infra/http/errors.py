"""Glance-style error bodies, chosen by the Accept header, and the one error middleware."""

from __future__ import annotations

import html
from http import HTTPStatus

import structlog
from aiohttp import web
from aiohttp.typedefs import Handler

from catalog.errors import CatalogError, DatabaseUnavailable
from infra.http.versions import accepted_version, versions_document

log = structlog.get_logger(__name__)


def _wants_json(request: web.Request) -> bool:
    accept = request.headers.get("Accept", "*/*")
    return "application/json" in accept and "text/html" not in accept


def _message(status: int, message: str, detail: str) -> str:
    # Glance (webob) lays the parts out differently for some statuses; clients show them as is.
    if status == 415:
        return f"{message}\n<br /><br />\n{detail}"
    if status == 405:
        return f"{message} <br /><br />\n{detail}"
    return f"{message}<br /><br />\n{detail}\n\n"


def _encodable(text: str) -> str:
    """`text` with what UTF-8 cannot encode (an unpaired surrogate a message echoes from the
    request) written as an escape: an error answer must never fail to be sent."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def error_response(
    request: web.Request,
    status: int,
    message: str,
    *,
    detail: str = "",
    headers: dict[str, str] | None = None,
) -> web.Response:
    message, detail = _encodable(message), _encodable(detail)
    if _wants_json(request):
        phrase = HTTPStatus(status).phrase
        body = {
            "message": _message(status, message, detail),
            "code": f"{status} {phrase}",
            "title": phrase,
        }
        return web.json_response(body, status=status, headers=headers)
    page = error_page(status, message, detail)
    return web.Response(text=page, status=status, content_type="text/html", headers=headers)


def error_page(status: int, message: str, detail: str = "") -> str:
    """The HTML body of an error, as Glance words it for clients that do not ask for JSON."""
    code = f"{status} {HTTPStatus(status).phrase}"
    text = html.escape(message) + (f"<br /><br />\n{html.escape(detail)}" if detail else "")
    return (
        f"<html>\n <head>\n  <title>{code}</title>\n </head>\n <body>\n  <h1>{code}</h1>\n"
        f"  {text}<br /><br />\n\n\n\n </body>\n</html>"
    )


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except CatalogError as e:
        # A database outage is logged once by the database, not once per request it fails.
        if e.status >= 500 and not isinstance(e, DatabaseUnavailable):
            log.error("request_failed", error=e.message, exc_info=e.__cause__ or e)
        retry = {"Retry-After": str(e.retry_after)} if e.retry_after is not None else None
        return error_response(request, e.status, e.message, detail=e.detail, headers=retry)
    except web.HTTPMethodNotAllowed as e:
        allow = ", ".join(sorted(e.allowed_methods))
        return error_response(
            request,
            405,
            f"The method {request.method} is not allowed for this resource.",
            headers={"Allow": allow},
        )
    except web.HTTPNotFound:
        if not accepted_version(request):
            # Outside every version Glance serves: it answers with the versions it has.
            return web.json_response(versions_document(request), status=300)
        return error_response(request, 404, "The resource could not be found.")
    except web.HTTPRequestEntityTooLarge:
        return error_response(request, 413, "The request body is too large.")
    except web.HTTPException as e:
        if e.status >= 400:
            return error_response(request, e.status, e.reason)
        raise
    except Exception:
        log.exception("unhandled_error", method=request.method, path=request.path)
        return error_response(
            request,
            500,
            "The server has either erred or is incapable of performing the requested operation.",
        )
