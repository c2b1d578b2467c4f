"""A caller's service catalog in Keystone (`catalog.ports.ServiceCatalog`): where the services
their token gives them are, by type, interface and region.

Asked with the caller's own token (`GET /v3/auth/catalog`), as Glance reads the catalog
keystonemiddleware hands it: each caller finds only what Keystone lists for them, and the
catalog's own account is not needed.
"""

from __future__ import annotations

from typing import Any

import aiohttp
import structlog

from catalog.errors import Forbidden, ServiceUnavailable
from infra.client_session import LazySession
from infra.keystone.tokens import v3_root

log = structlog.get_logger(__name__)


class KeystoneServiceCatalog:
    def __init__(self, keystone_url: str, *, timeout: float) -> None:
        self.url = v3_root(keystone_url)
        self._client = LazySession(timeout)

    async def endpoint(
        self, token: str, service_type: str, interface: str, region: str | None = None
    ) -> str | None:
        for service in await self._catalog(token):
            if service.get("type") != service_type:
                continue
            for endpoint in service.get("endpoints", ()):
                url = endpoint.get("url")
                if (
                    isinstance(url, str)
                    and endpoint.get("interface") == interface
                    and _in_region(endpoint, region)
                ):
                    return url.rstrip("/")
        return None

    async def _catalog(self, token: str) -> list[dict[str, Any]]:
        headers = {"X-Auth-Token": token}
        try:
            async with self._client().get(f"{self.url}/auth/catalog", headers=headers) as answer:
                if answer.status in (401, 403, 404):
                    raise Forbidden("Keystone did not accept the caller's token for its catalog.")
                if answer.status != 200:
                    raise _unavailable(f"Keystone answered {answer.status} for the catalog")
                body: dict[str, Any] = await answer.json()
        except (aiohttp.ClientError, TimeoutError, ValueError) as e:
            raise _unavailable(str(e) or type(e).__name__) from e
        catalog = body.get("catalog")
        return [s for s in catalog if isinstance(s, dict)] if isinstance(catalog, list) else []

    async def close(self) -> None:
        await self._client.close()


def _in_region(endpoint: dict[str, Any], region: str | None) -> bool:
    """Whether `endpoint` is in `region`, told by its region's id or (older catalogs) name,
    ignoring case as Glance does."""
    if region is None:
        return True
    named = (endpoint.get("region_id"), endpoint.get("region"))
    return region.lower() in {str(name).lower() for name in named if name is not None}


def _unavailable(why: str) -> ServiceUnavailable:
    log.warning("keystone_catalog_unavailable", reason=why)
    return ServiceUnavailable("The identity service is not available; try again later.")
