"""Projects, users and tokens in the local Keystone (`infra/local/services up keystone`), for tests.

Every test makes accounts of its own, under unique names, through Keystone's API as its
bootstrap admin; nothing is shared between tests but the server.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp

from infra.keystone.tokens import KeystoneCredentials
from infra.settings import KeystoneSettings
from tests.conftest import service_setting

DOMAIN = "default"


def keystone_url() -> str:
    return service_setting("CATALOG_TEST_KEYSTONE_URL")


def catalog_credentials(**changes: str) -> KeystoneCredentials:
    """The catalog's own service credentials in the local Keystone (`changes` replace some)."""
    return catalog_keystone(**changes).credentials()


def catalog_keystone(**changes: Any) -> KeystoneSettings:
    """`CATALOG_KEYSTONE_*` for a catalog in the local Keystone (`changes` replace some)."""
    given = {
        "auth_url": keystone_url(),
        "username": service_setting("CATALOG_TEST_KEYSTONE_CATALOG_USER"),
        "password": service_setting("CATALOG_TEST_KEYSTONE_CATALOG_PASSWORD"),
        "project_name": "service",
        **changes,
    }
    return KeystoneSettings(**given)


@dataclass(frozen=True)
class Account:
    user_id: str
    user_name: str
    password: str
    project_id: str
    project_name: str


class KeystoneAdmin:
    """The bootstrap admin, making accounts and tokens."""

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self.url = keystone_url()
        self.session = session
        self.token = ""

    async def login(self) -> None:
        password = service_setting("CATALOG_TEST_KEYSTONE_ADMIN_PASSWORD")
        self.token = await self.project_token("admin", password, "admin")

    async def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        headers = {"X-Auth-Token": self.token}
        async with self.session.request(method, self.url + path, json=body, headers=headers) as r:
            assert r.status < 300, f"{method} {path}: {r.status} {await r.text()}"
            return await r.json() if r.content_length else None

    async def account(self, *roles: str, project_name: str | None = None) -> Account:
        """A new user holding `roles` on a project (new unless `project_name` exists)."""
        suffix = uuid.uuid4().hex[:10]
        project_name = project_name or f"proj-{suffix}"
        found = await self.call("GET", f"/projects?name={project_name}")
        if found["projects"]:
            project_id = found["projects"][0]["id"]
        else:
            created = await self.call(
                "POST", "/projects", {"project": {"name": project_name, "domain_id": DOMAIN}}
            )
            project_id = created["project"]["id"]
        password = f"pw-{suffix}"
        user = {"name": f"user-{suffix}", "domain_id": DOMAIN, "password": password}
        user_id = (await self.call("POST", "/users", {"user": user}))["user"]["id"]
        for role in roles:
            role_id = await self.role_id(role)
            await self.call("PUT", f"/projects/{project_id}/users/{user_id}/roles/{role_id}")
        return Account(user_id, user["name"], password, project_id, project_name)

    @contextlib.asynccontextmanager
    async def region_serving_images(self, image_url: str) -> AsyncIterator[str]:
        """A new region in Keystone's catalog, with the identity service (this Keystone) and
        the image service at `image_url`: clients given the region find the test's own catalog
        there, as users of a cloud find its image service. Removed afterwards."""
        region = f"region-{uuid.uuid4().hex[:10]}"
        await self.call("POST", "/regions", {"region": {"id": region}})
        endpoint_ids = []
        try:
            for service_type, url in (("identity", self.url), ("image", image_url)):
                found = await self.call("GET", f"/services?type={service_type}")
                for interface in ("public", "internal"):
                    endpoint = {
                        "service_id": found["services"][0]["id"],
                        "interface": interface,
                        "region_id": region,
                        "url": url,
                    }
                    created = await self.call("POST", "/endpoints", {"endpoint": endpoint})
                    endpoint_ids.append(created["endpoint"]["id"])
            yield region
        finally:
            for endpoint_id in endpoint_ids:
                await self.call("DELETE", f"/endpoints/{endpoint_id}")
            await self.call("DELETE", f"/regions/{region}")

    async def grant_system_role(self, account: Account, role: str) -> None:
        role_id = await self.role_id(role)
        await self.call("PUT", f"/system/users/{account.user_id}/roles/{role_id}")

    async def role_id(self, name: str) -> str:
        found = await self.call("GET", f"/roles?name={name}")
        assert found["roles"], f"no role {name} in Keystone"
        return str(found["roles"][0]["id"])

    async def ensure_role(self, name: str) -> None:
        """A role of the deployment's own (as an operator's policy file names), made if new."""
        if not (await self.call("GET", f"/roles?name={name}"))["roles"]:
            await self.call("POST", "/roles", {"role": {"name": name}})

    async def project_token(self, user: str, password: str, project: str) -> str:
        scope = {"project": {"name": project, "domain": {"id": DOMAIN}}}
        return await self._token(user, password, scope)

    async def system_token(self, user: str, password: str) -> str:
        return await self._token(user, password, {"system": {"all": True}})

    async def token_of(self, account: Account) -> str:
        return await self.project_token(account.user_name, account.password, account.project_name)

    async def revoke(self, token: str) -> None:
        headers = {"X-Auth-Token": self.token, "X-Subject-Token": token}
        async with self.session.delete(self.url + "/auth/tokens", headers=headers) as r:
            assert r.status == 204, await r.text()

    async def _token(self, user: str, password: str, scope: dict[str, Any]) -> str:
        identity = {"user": {"name": user, "domain": {"id": DOMAIN}, "password": password}}
        body = {
            "auth": {
                "identity": {"methods": ["password"], "password": identity},
                "scope": scope,
            }
        }
        async with self.session.post(self.url + "/auth/tokens", json=body) as r:
            assert r.status == 201, await r.text()
            return r.headers["X-Subject-Token"]
