"""/v2/images/{image_id}/members[/{member_id}]: who an image is shared with."""

from __future__ import annotations

import uuid
from typing import Any

from aiohttp import web

from catalog.commands.manage_members import AddImageMember, RemoveImageMember, UpdateImageMember
from catalog.errors import BadRequest, Forbidden, NotFound
from catalog.policy import ImageAccess, sees_every_membership, sees_membership
from catalog.queries import images as image_queries
from catalog.queries.images import ImageView, MemberView
from infra.http.identity import metadata_of
from infra.http.image_json import timestamp
from infra.http.keys import BUS, DATABASE
from infra.http.requests import image_id_from, json_object, reject_body
from infra.http.views.images import image_access

MISSING_IMAGE = "Image {id} not found."
ONLY_SHARED = "Only shared images have members."
STATUSES = ("pending", "accepted", "rejected")


def member_json(member: MemberView) -> dict[str, Any]:
    return {
        "member_id": member.member_id,
        "image_id": str(member.image_id),
        "status": member.status,
        "created_at": timestamp(member.created_at),
        "updated_at": timestamp(member.updated_at),
        "schema": "/v2/schemas/member",
    }


async def _image(request: web.Request, rule: str) -> tuple[ImageView, ImageAccess]:
    """The image, if the caller may read its memberships (`rule`); 404 if they may not see it."""
    image_id = image_id_from(request, MISSING_IMAGE)
    view, access = await image_access(request, image_id, MISSING_IMAGE.format(id=image_id))
    access.enforce(rule)
    return view, access


async def _members(request: web.Request, image_id: uuid.UUID, only: str | None) -> list[MemberView]:
    return await request.app[DATABASE].read(image_queries.list_members, image_id, only)


def _visible_members_of(view: ImageView, access: ImageAccess) -> str | None:
    """Whose memberships the caller sees: everyone's (None: an admin, the owner) or only its
    own project's."""
    project = access.viewer.project_id
    if sees_every_membership(access.viewer, owner=view.owner):
        return None
    if project is None:
        raise NotFound(MISSING_IMAGE.format(id=view.id))
    return project


async def index(request: web.Request) -> web.Response:
    reject_body(request)
    view, access = await _image(request, "get_members")
    if view.visibility != "shared":  # members an image kept from when it was shared stay hidden
        raise Forbidden(f"Not allowed to list members for image {view.id}: {ONLY_SHARED}")
    only = _visible_members_of(view, access)
    members = await _members(request, view.id, only) if access.allows("get_member") else []
    if not members and only is not None:
        raise NotFound(MISSING_IMAGE.format(id=view.id))
    return web.json_response(
        {"members": [member_json(m) for m in members], "schema": "/v2/schemas/members"}
    )


async def show(request: web.Request) -> web.Response:
    reject_body(request)
    view, access = await _image(request, "get_member")
    if view.visibility != "shared":  # a 404, as Glance, which hides why
        raise NotFound(ONLY_SHARED)
    member = request.match_info["member_id"]
    seen = sees_membership(access.viewer, owner=view.owner, member=member)
    found = await _members(request, view.id, member) if seen else []
    if not found:
        raise NotFound(f"{member} not found in the member list of the image {view.id}.")
    return web.json_response(member_json(found[0]))


async def create(request: web.Request) -> web.Response:
    image_id = image_id_from(request, MISSING_IMAGE)
    member = (await json_object(request)).get("member")
    if not isinstance(member, str) or not member.strip() or len(member) > 255:
        raise BadRequest("Member to be added not specified")
    command = AddImageMember(image_id=image_id, member=member)
    await request.app[BUS].dispatch(command, metadata_of(request))
    return web.json_response(member_json((await _members(request, image_id, member))[0]))


async def update(request: web.Request) -> web.Response:
    image_id = image_id_from(request, MISSING_IMAGE)
    member = request.match_info["member_id"]
    status = (await json_object(request)).get("status")
    if status not in STATUSES:
        raise BadRequest('Incorrect request: Status must be "pending", "accepted" or "rejected".')
    command = UpdateImageMember(image_id=image_id, member=member, status=status)
    await request.app[BUS].dispatch(command, metadata_of(request))
    return web.json_response(member_json((await _members(request, image_id, member))[0]))


async def delete(request: web.Request) -> web.Response:
    reject_body(request)
    image_id = image_id_from(request, MISSING_IMAGE)
    command = RemoveImageMember(image_id=image_id, member=request.match_info["member_id"])
    await request.app[BUS].dispatch(command, metadata_of(request))
    return web.Response(status=204)
