"""The accounts and the service catalog a local Keystone needs beyond `keystone-manage bootstrap`.

Run by `infra/local/services up keystone` with Keystone's own interpreter (standard library only),
after bootstrap made the admin, the Default domain, the roles and the identity endpoints. Every
step looks before it creates, so running it again changes nothing (passwords and the image
endpoint's address are set again, so that changing them in the environment takes effect):

- the `service` project, and in it the catalog's service user (which validates the tokens of the
  catalog's callers) and a compute service user (whose service tokens come beside users' tokens,
  as Nova's do), both with the `service` role;
- the `image` service, with public, internal and admin endpoints at the catalog's address;
- the `image_remote` service, the same for a second node of the same catalog (Tempest's
  `alternate_image_endpoint`: its tests of imports, deletes and caches through another node).

Arguments come from the environment: KEYSTONE_URL (ending in /v3), KEYSTONE_ADMIN_PASSWORD,
KEYSTONE_REGION, CATALOG_SERVICE_USER / _PASSWORD, COMPUTE_SERVICE_USER / _PASSWORD,
IMAGE_ENDPOINT and IMAGE_REMOTE_ENDPOINT.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

DOMAIN = "default"
SERVICE_PROJECT = "service"
INTERFACES = ("public", "internal", "admin")
IMAGE = {"type": "image", "name": "glance", "description": "Image catalog", "enabled": True}
IMAGE_REMOTE = {
    "type": "image_remote",
    "name": "glance-remote",
    "description": "Image catalog, a second node",
    "enabled": True,
}


class Keystone:
    """Just enough of the identity API, as the bootstrap admin."""

    def __init__(self, url: str, admin_password: str) -> None:
        self.url = url.rstrip("/")
        self.token = ""
        answer = self.call("POST", "/auth/tokens", _password_auth("admin", admin_password))
        self.token = answer["__token"]

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.url + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        if self.token:
            request.add_header("X-Auth-Token", self.token)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                raw = response.read()
                answer: dict[str, Any] = json.loads(raw) if raw else {}
                answer["__token"] = response.headers.get("X-Subject-Token", "")
                return answer
        except urllib.error.HTTPError as e:
            detail = e.read()[:300]
            raise SystemExit(f"keystone: {method} {path} answered {e.code}: {detail!r}") from e

    def find(self, collection: str, **filters: str) -> dict[str, Any] | None:
        query = urllib.parse.urlencode(filters)
        found = self.call("GET", f"/{collection}?{query}")[collection]
        return found[0] if found else None

    def ensure(self, collection: str, singular: str, wanted: dict[str, Any], **filters: str) -> str:
        """The id of the one entity matching `filters`, created from `wanted` if missing."""
        existing = self.find(collection, **filters)
        if existing is not None:
            return str(existing["id"])
        created = self.call("POST", f"/{collection}", {singular: wanted})
        return str(created[singular]["id"])


def _password_auth(user: str, password: str) -> dict[str, Any]:
    identity = {"user": {"name": user, "domain": {"id": DOMAIN}, "password": password}}
    scope = {"project": {"name": "admin", "domain": {"id": DOMAIN}}}
    return {"auth": {"identity": {"methods": ["password"], "password": identity}, "scope": scope}}


def ensure_service_user(keystone: Keystone, project_id: str, name: str, password: str) -> None:
    user = {"name": name, "domain_id": DOMAIN, "password": password, "enabled": True}
    user_id = keystone.ensure("users", "user", user, name=name, domain_id=DOMAIN)
    keystone.call("PATCH", f"/users/{user_id}", {"user": {"password": password}})
    role_id = keystone.find("roles", name="service")
    if role_id is None:
        raise SystemExit("keystone: the service role is missing (bootstrap should have made it)")
    keystone.call("PUT", f"/projects/{project_id}/users/{user_id}/roles/{role_id['id']}")


def ensure_endpoints(keystone: Keystone, service: dict[str, Any], region: str, url: str) -> None:
    """`service` (by its type) with its public, internal and admin endpoints at `url`."""
    service_id = keystone.ensure("services", "service", service, type=service["type"])
    for interface in INTERFACES:
        existing = keystone.find(
            "endpoints", service_id=service_id, interface=interface, region_id=region
        )
        if existing is None:
            endpoint = {
                "service_id": service_id,
                "interface": interface,
                "region_id": region,
                "url": url,
                "enabled": True,
            }
            keystone.call("POST", "/endpoints", {"endpoint": endpoint})
        elif existing["url"] != url:
            keystone.call("PATCH", f"/endpoints/{existing['id']}", {"endpoint": {"url": url}})


def main() -> None:
    env = os.environ
    keystone = Keystone(env["KEYSTONE_URL"], env["KEYSTONE_ADMIN_PASSWORD"])
    project = {"name": SERVICE_PROJECT, "domain_id": DOMAIN, "enabled": True}
    project_id = keystone.ensure("projects", "project", project, name=SERVICE_PROJECT)
    for prefix in ("CATALOG_SERVICE", "COMPUTE_SERVICE"):
        ensure_service_user(keystone, project_id, env[f"{prefix}_USER"], env[f"{prefix}_PASSWORD"])
    ensure_endpoints(keystone, IMAGE, env["KEYSTONE_REGION"], env["IMAGE_ENDPOINT"])
    ensure_endpoints(keystone, IMAGE_REMOTE, env["KEYSTONE_REGION"], env["IMAGE_REMOTE_ENDPOINT"])


if __name__ == "__main__":
    main()
