"""/v2/images/{image_id}/file and /stage: upload and staging (PUT); download is image_download."""

from __future__ import annotations

import contextlib

from aiohttp import web

from catalog.commands.upload_image_data import UploadImageData
from catalog.errors import BadRequest, UnsupportedMediaType
from infra.http.client_text import text_header
from infra.http.identity import metadata_of
from infra.http.keys import BUS
from infra.http.requests import image_id_from
from infra.http.upload_body import UploadBody
from infra.metrics.serving import SERVING_METRICS

SIZE_LIMIT = 2**63 - 1
"""The largest size a view's 64-bit size column holds (Glance's `image_size_cap` is below it)."""


def _expected_size(request: web.Request) -> int | None:
    declared = request.headers.get("x-openstack-image-size")
    if declared is None:
        return request.content_length
    try:
        size = int(declared)
    except ValueError as e:
        raise BadRequest("x-openstack-image-size must be an integer.") from e
    if size < 0:
        raise BadRequest("x-openstack-image-size must not be negative.")
    if size > SIZE_LIMIT:
        raise BadRequest(f"x-openstack-image-size must not exceed {SIZE_LIMIT}.")
    return size


async def upload(request: web.Request) -> web.Response:
    """PUT …/file: the image's data, active when it returns."""
    return await _receive(request, staging=False)


async def stage(request: web.Request) -> web.Response:
    """PUT …/stage: data for a later glance-direct import; the image stays `uploading`."""
    return await _receive(request, staging=True)


async def _receive(request: web.Request, *, staging: bool) -> web.Response:
    missing = "No image found with ID {id}"
    image_id = image_id_from(request, missing)
    content_type = request.headers.get("Content-Type", "")
    if content_type.split(";")[0].strip().lower() != "application/octet-stream":
        shown = content_type or "None"
        raise UnsupportedMediaType(
            f"The request media type {shown} is not supported by this server.",
            detail=f"Invalid content type {shown}",
        )
    body = UploadBody(request)
    chunks = body.chunks()
    command = UploadImageData(
        image_id=image_id,
        chunks=chunks,
        store=text_header(request, "X-Image-Meta-Store"),
        expected_size=_expected_size(request),
        staging=staging,
        token=request.headers.get("X-Auth-Token"),
    )
    # Closed before the answer: a body left unread is drained or its connection closed.
    async with contextlib.aclosing(chunks):
        with request.app[SERVING_METRICS].upload(lambda: body.received):
            await request.app[BUS].dispatch(command, metadata_of(request))
    return web.Response(status=204)
