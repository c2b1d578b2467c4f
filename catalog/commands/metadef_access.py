"""How commands find a metadata definitions namespace by its name and ask the policy about it.

Glance answers a namespace that does not exist, or that the caller may not see, with one of
two messages, depending on the route; the catalog gives the same answer to both cases (a
namespace one may not see is never said to exist).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from catalog.claims import Claim
from catalog.commands.context import CommandContext
from catalog.errors import NotFound
from catalog.events import EventMetadata
from catalog.metadefs.namespace import Namespace
from catalog.policy import MetadefAccess

T = TypeVar("T")

NO_NAMESPACES = "The resource could not be found."
"""Glance's answer to a caller who may not even read namespaces, for what concerns none in
particular (listing, creating)."""


def namespace_not_found(name: str) -> str:
    """The answer of the namespace's own routes and of its objects'."""
    return f"Metadata definition namespace={name} was not found."


def no_namespace(name: str) -> str:
    """The answer of the other routes of a namespace's contents, and of its update and
    deletion."""
    return f"Namespace {name} not found"


async def change_namespace(
    context: CommandContext,
    name: str,
    metadata: EventMetadata,
    decide: Callable[[Namespace, MetadefAccess], T],
    *,
    missing: str,
    claim: Callable[[Namespace], Claim | None] | None = None,
) -> T:
    """Load the namespace called `name`, let `decide` act on it with what the caller may do,
    append what it decided. `NotFound(missing)` if there is none the caller can see (also
    when it was renamed or deleted meanwhile)."""
    stream_id = await context.namespaces.stream_of(name)
    if stream_id is None:
        raise NotFound(missing)

    def checked(namespace: Namespace) -> T:
        if not namespace.exists or namespace.name != name:
            raise NotFound(missing)
        access = context.policy.metadef(metadata.actor, namespace, missing=missing)
        return decide(namespace, access)

    return await context.metadefs.change(stream_id, metadata, checked, claim)
