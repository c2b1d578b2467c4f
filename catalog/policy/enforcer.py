"""The one place where the catalog decides who may do what (`Policy`).

Every command, query and view asks here: with the rules of `catalog/policy/defaults.py`, as an
operator's policy file changes them, and the property protections. Calls follow Glance's:

- An image the database layer would not find for the caller (`visibility.py`) is 404.
- A rule about an image (`ImageAccess.enforce`) that refuses is 403 if the caller may get the
  image (`get_image`), else 404: an image one may not see is never said to exist. The
  visibility rules (`publicize_image`, `communitize_image`) and rules about no image (create,
  list, the stores' details) are plain 403s.
- Credentials are oslo.context's: the caller's roles count for `role:` checks; the roles of a
  service token sent beside the user's (`X-Service-Token`) are `service_roles`, which a rule
  reads as `service_roles:service`. Only where Glance itself counts them as roles do they:
  property protections, and who may attach data in the catalog's stores (`is_service`).
- A token without a project, a domain or the system scope is refused every rule that wants a
  project (Glance would compare the missing project with a target's missing owner and let
  some through).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol, TypeVar

from catalog.errors import ACCESS_DENIED, Forbidden, NotFound
from catalog.identity import Actor
from catalog.policy.language import Credentials, Target
from catalog.policy.property_protections import Operation, PropertyProtections
from catalog.policy.rules import RuleSet
from catalog.policy.targets import ImageFacts, ImageTarget
from catalog.policy.visibility import Viewer, can_see

SERVICE_ROLE = "service"
CREDENTIALS_KEPT = 1024
DEACTIVATED = "The requested image has been deactivated. Image data download is forbidden."
VISIBILITY_RULES = {"public": "publicize_image", "community": "communitize_image"}
"""Making an image public or community has a rule of its own (Glance's)."""
Shown = TypeVar("Shown", bound=ImageFacts)


def not_authorized(rule: str) -> Forbidden:
    return Forbidden(f"You are not authorized to complete {rule} action.")


def reserved(name: str) -> Forbidden:
    """Glance's answer to a property the caller may not create, update or delete."""
    return Forbidden(f"Attribute '{name}' is reserved.")


def credentials(actor: Actor) -> Credentials:
    """The actor as oslo.context hands it to a policy (`to_policy_values`)."""
    values: dict[str, object] = {
        "user_id": actor.user_id,
        "user_domain_id": actor.user_domain_id,
        "system_scope": actor.system_scope,
        "domain_id": actor.domain_id,
        "project_id": actor.project_id,
        "project_domain_id": actor.project_domain_id,
        "roles": list(actor.roles),
        "is_admin_project": True,
        "service_user_id": None,
        "service_user_domain_id": None,
        "service_project_id": None,
        "service_project_domain_id": None,
        "service_roles": list(actor.service_roles),
    }
    if actor.system_scope:
        values["system"] = actor.system_scope
    return Credentials(values, _scope(actor))


def _scope(actor: Actor) -> str:
    if actor.system_scope:
        return "system"
    if actor.domain_id:
        return "domain"
    return "project" if actor.project_id else "unscoped"


class Policy:
    """The rules (defaults and a policy file's) and the property protections, if any."""

    def __init__(
        self, rules: RuleSet | None = None, protections: PropertyProtections | None = None
    ) -> None:
        self.rules = rules or RuleSet()
        self.protections = protections
        self._credentials: dict[Actor, Credentials] = {}

    def credentials(self, actor: Actor) -> Credentials:
        """The actor's credentials, kept for the callers seen lately: most ask many times."""
        try:
            return self._credentials[actor]
        except KeyError:
            pass
        if len(self._credentials) >= CREDENTIALS_KEPT:
            self._credentials.clear()
        creds = self._credentials[actor] = credentials(actor)
        return creds

    def is_admin(self, actor: Actor) -> bool:
        """`context_is_admin`: an admin, whom the database layer shows every image."""
        return self._is_admin(self.credentials(actor))

    def _is_admin(self, creds: Credentials) -> bool:
        return self.rules.check("context_is_admin", creds.values, creds)

    def viewer(self, actor: Actor) -> Viewer:
        return Viewer(actor.project_id, self.is_admin(actor))

    def is_service(self, actor: Actor) -> bool:
        """A cloud service acting (with its own token, or a service token beside a user's)."""
        return SERVICE_ROLE in actor.roles or SERVICE_ROLE in actor.service_roles

    def allows(self, actor: Actor, rule: str, target: Target | None = None) -> bool:
        """Rule `rule` about no image in particular; the target is the caller's project."""
        creds = self.credentials(actor)
        return self.rules.enforced(rule, _own(actor) if target is None else target, creds)

    def enforce(self, actor: Actor, rule: str, target: Target | None = None) -> None:
        if not self.allows(actor, rule, target):
            raise not_authorized(rule)

    def enforce_add_image(self, actor: Actor, *, owner: str | None, visibility: str) -> None:
        """Creating an image owned by `owner` (`add_image`), then with `visibility` (its rule):
        403 if refused, saying so when the owner is another project."""
        target = {"project_id": owner, "owner": owner, "visibility": visibility}
        if not self.allows(actor, "add_image", target):
            if owner != actor.project_id:
                detail = f"You are not permitted to create images owned by '{owner}'"
                raise Forbidden(ACCESS_DENIED, detail=detail)
            raise not_authorized("add_image")
        rule = VISIBILITY_RULES.get(visibility)
        if rule is not None:
            self.enforce(actor, rule, target)

    def image(
        self, actor: Actor, image: ImageFacts, *, is_member: bool, missing: str
    ) -> ImageAccess:
        """What the caller may do with `image`; `NotFound(missing)` if it does not exist for
        them. `is_member`: the caller's project is one the image is shared with."""
        creds = self.credentials(actor)
        viewer = Viewer(actor.project_id, self._is_admin(creds))
        if not can_see(viewer, owner=image.owner, visibility=image.visibility, is_member=is_member):
            raise NotFound(missing)
        target = ImageTarget.asked_by(image, actor.project_id)
        return ImageAccess(self.rules, creds, viewer, target, missing)

    def may_audit(self, actor: Actor, image: ImageFacts) -> bool:
        """Reading an image's history (`get_image_history`), on the image as its stream leaves
        it, deleted or not: no one else may know it had one."""
        target = ImageTarget.asked_by(image, actor.project_id)
        return self.rules.enforced("get_image_history", target, self.credentials(actor))

    def shown_images(self, actor: Actor, images: Iterable[Shown]) -> list[Shown]:
        """Of images the database layer found for the caller, those `get_image` lets them see."""
        creds = self.credentials(actor)
        return [
            image
            for image in images
            if self.rules.enforced(
                "get_image", ImageTarget.asked_by(image, actor.project_id), creds
            )
        ]

    def property_access(self, actor: Actor) -> PropertyAccess:
        return PropertyAccess(self.protections, self.credentials(actor))

    def metadef(
        self, actor: Actor, namespace: NamespaceFacts | None, *, missing: str
    ) -> MetadefAccess:
        """What the caller may do with a metadata definitions namespace (None: with none in
        particular, as listing or creating one); `NotFound(missing)` if the database layer
        would not find it for them (`can_see`: admins, its owner, everyone when public)."""
        creds = self.credentials(actor)
        if namespace is None:
            return MetadefAccess(self.rules, creds, _own(actor), missing)
        viewer = Viewer(actor.project_id, self._is_admin(creds))
        owner, visibility = namespace.owner, namespace.visibility
        if not can_see(viewer, owner=owner, visibility=visibility, is_member=False):
            raise NotFound(missing)
        target = {"project_id": owner, "visibility": visibility}
        return MetadefAccess(self.rules, creds, target, missing)

    def shown_namespaces(self, actor: Actor, namespaces: Iterable[Listed]) -> list[Listed]:
        """Of namespaces the database layer found, those `get_metadef_namespace` lets the
        caller see."""
        return [
            namespace
            for namespace in namespaces
            if self.metadef(actor, namespace, missing="").allows("get_metadef_namespace")
        ]


def _own(actor: Actor) -> Target:
    return {"project_id": actor.project_id}


@dataclass(frozen=True)
class ImageAccess:
    """One caller and one image they can see: Glance's `ImageAPIPolicy`."""

    rules: RuleSet
    creds: Credentials
    viewer: Viewer
    target: ImageTarget
    missing: str

    @property
    def is_admin(self) -> bool:
        return self.viewer.is_admin

    def allows(self, rule: str) -> bool:
        return self.rules.enforced(rule, self.target, self.creds)

    def enforce(self, rule: str) -> None:
        """403 if `rule` refuses, or 404 if the caller may not even get the image."""
        if self.allows(rule):
            return
        if rule == "get_image" or not self.allows("get_image"):
            raise NotFound(self.missing)
        raise not_authorized(rule)

    def enforce_download(self, *, deactivated: bool) -> None:
        """Reading the image's data: a deactivated image's only by admins, then the rule."""
        if deactivated and not self.is_admin:
            raise Forbidden(DEACTIVATED)
        self.enforce("download_image")

    def may_download(self, *, deactivated: bool) -> bool:
        return (self.is_admin or not deactivated) and self.allows("download_image")

    def enforce_visibility(self, visibility: str) -> None:
        """Making the image public or community has a rule of its own (a plain 403)."""
        rule = VISIBILITY_RULES.get(visibility)
        if rule is not None and not self.allows(rule):
            raise not_authorized(rule)


class NamespaceFacts(Protocol):
    """What the rules read of a metadata definitions namespace."""

    @property
    def owner(self) -> str | None: ...

    @property
    def visibility(self) -> str: ...


Listed = TypeVar("Listed", bound=NamespaceFacts)


@dataclass(frozen=True)
class MetadefAccess:
    """One caller and one namespace they can see (or none in particular): Glance's
    `MetadefAPIPolicy`, whose target is the namespace's owner and visibility."""

    rules: RuleSet
    creds: Credentials
    target: Target
    missing: str

    def allows(self, rule: str) -> bool:
        return self.rules.enforced(rule, self.target, self.creds)

    def enforce(self, *rules: str) -> None:
        """403 for the first of `rules` that refuses, or 404 if the caller may not even get
        the namespace: a namespace one may not see is never said to exist."""
        for rule in rules:
            if self.allows(rule):
                continue
            if rule == "get_metadef_namespace" or not self.allows("get_metadef_namespace"):
                raise NotFound(self.missing)
            raise not_authorized(rule)


@dataclass(frozen=True)
class PropertyAccess:
    """One caller's rights on custom properties under the property protections."""

    protections: PropertyProtections | None
    creds: Credentials

    def allows(self, name: str, operation: Operation) -> bool:
        return self.protections is None or self.protections.allows(name, operation, self.creds)

    def readable(self, properties: Mapping[str, str]) -> Mapping[str, str]:
        """The properties the caller may read (all of them without protections)."""
        if self.protections is None:
            return properties
        return {k: v for k, v in properties.items() if self.allows(k, "read")}

    def require(self, name: str, operation: Operation) -> None:
        if not self.allows(name, operation):
            raise reserved(name)
