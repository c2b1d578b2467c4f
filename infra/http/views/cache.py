"""/v2/cache: this node's image cache, as Glance's cache API (v2.14, clean and prune v2.18).

Each rule is checked before anything else, as Glance does, so that a caller who may not
manage the cache learns nothing of it (not even whether this node has one), and refuses with
Glance's plain 403; a rule about one image follows the image rules (404 for an image the
caller may not see)."""

from __future__ import annotations

import uuid

from aiohttp import web

from catalog.errors import ACCESS_DENIED, BadRequest, Forbidden, NotFound
from catalog.policy import ImageAccess
from catalog.queries.images import ImageView
from infra.http.identity import metadata_of
from infra.http.keys import CACHE_WORKER, IMAGE_CACHE, POLICY
from infra.http.requests import image_id_from, reject_body
from infra.http.views.images import image_access
from infra.image_cache.disk import ImageCache

NOT_SUPPORTED = "Caching via API is not supported at this site."
MISSING = "Image {id} not found."
CLEAR_TARGET = "x-image-cache-clear-target"
CLEAR_TARGETS = ("", "cache", "queue")


async def get_cache_state(request: web.Request) -> web.Response:
    reject_body(request)
    cache = _enforced(request, "cache_list")
    entries = await cache.entries()
    return web.json_response(
        {
            "cached_images": [entry.listed() for entry in entries],
            "queued_images": await cache.queued(),
        }
    )


async def queue_image(request: web.Request) -> web.Response:
    """PUT /v2/cache/{image_id}: queued, and fetched by this node's worker at once (202)."""
    reject_body(request)
    image_id = image_id_from(request, MISSING)
    view, access = await image_access(request, image_id, MISSING.format(id=image_id))
    _enforce_on(access, "cache_image")
    cache = _cache_of(request)
    if view.status != "active":
        raise BadRequest("Only images with status active can be targeted for queueing")
    await cache.queue(str(image_id))
    request.app[CACHE_WORKER].nudge()
    return web.Response(status=202)


async def delete_cache_entry(request: web.Request) -> web.Response:
    """DELETE /v2/cache/{image_id}: out of the cache and the queue; 404 only for an id that
    names no image the caller sees and nothing here either."""
    reject_body(request)
    image_id = image_id_from(request, MISSING)
    found = await _visible(request, image_id)
    if found is not None:
        _enforce_on(found[1], "cache_delete")
        cache = _cache_of(request)
    else:
        cache = _enforced(request, "cache_delete")
        if not await cache.holds(str(image_id)):
            raise NotFound(MISSING.format(id=image_id))
    await cache.evict(str(image_id))
    await cache.dequeue(str(image_id))
    return web.Response(status=204)


async def clear_cache(request: web.Request) -> web.Response:
    """DELETE /v2/cache: everything cached, queued, or both (no `x-image-cache-clear-target`,
    or an empty one)."""
    reject_body(request)
    cache = _enforced(request, "cache_delete")
    target = request.headers.get(CLEAR_TARGET, "").strip().lower()
    if target not in CLEAR_TARGETS:
        raise BadRequest(f"If provided '{CLEAR_TARGET}' must be 'cache', 'queue' or empty string.")
    if target in ("", "cache"):
        await cache.clear_cached()
    if target in ("", "queue"):
        await cache.clear_queued()
    return web.Response(status=204)


async def clean_cache(request: web.Request) -> web.Response:
    """POST /v2/cache/clean: invalid bytes and stalled fills removed."""
    reject_body(request)
    files, size = await _enforced(request, "cache_clean").clean()
    return web.json_response({"total_files_cleaned": files, "total_bytes_cleaned": size})


async def prune_cache(request: web.Request) -> web.Response:
    """POST /v2/cache/prune: the least recently used images evicted down to the size limit."""
    reject_body(request)
    files, size = await _enforced(request, "cache_prune").prune()
    return web.json_response({"total_files_pruned": files, "total_bytes_pruned": size})


def _enforced(request: web.Request, rule: str) -> ImageCache:
    """The cache, once `rule` (about no image) allows the caller."""
    if not request.app[POLICY].allows(metadata_of(request).actor, rule):
        raise Forbidden(ACCESS_DENIED)
    return _cache_of(request)


def _enforce_on(access: ImageAccess, rule: str) -> None:
    try:
        access.enforce(rule)
    except Forbidden:
        raise Forbidden(ACCESS_DENIED) from None


def _cache_of(request: web.Request) -> ImageCache:
    cache = request.app.get(IMAGE_CACHE)
    if cache is None:
        raise NotFound(NOT_SUPPORTED)
    return cache


async def _visible(
    request: web.Request, image_id: uuid.UUID
) -> tuple[ImageView, ImageAccess] | None:
    try:
        return await image_access(request, image_id, MISSING.format(id=image_id))
    except NotFound:
        return None
