"""The certificates of signed images (`catalog.ports.Certificates`): from a folder, from
Barbican, or from the first of several that has it."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from pathlib import Path

import aiohttp
import structlog

from catalog.errors import CatalogError, ServiceUnavailable
from catalog.ports import Certificates, ServiceCatalog
from catalog.signatures import refused
from infra.client_session import LazySession

log = structlog.get_logger(__name__)

# Certificate ids become file names and URL path segments: nothing that could leave either.
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,254}")
_EXTENSIONS = ("", ".pem", ".der", ".crt")


def _usable_id(uuid: str) -> bool:
    return bool(_ID.fullmatch(uuid)) and ".." not in uuid


class DirectoryCertificates:
    """Certificates as files `<folder>/<uuid>[.pem|.der|.crt]`, read when asked (a certificate
    added or replaced is used from the next upload on)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    async def find(self, uuid: str, token: str | None) -> bytes | None:
        if not _usable_id(uuid):
            return None
        return await asyncio.to_thread(self._read, uuid)

    def _read(self, uuid: str) -> bytes | None:
        for extension in _EXTENSIONS:
            try:
                return (self.folder / f"{uuid}{extension}").read_bytes()
            except (FileNotFoundError, IsADirectoryError):
                continue
        return None


class BarbicanCertificates:
    """Certificates kept as Barbican secrets, read with the caller's token, as Glance reads
    them through castellan: `GET /v1/secrets/{uuid}/payload`.

    Barbican's address is given, or found in the caller's Keystone catalog (`GET
    /v3/auth/catalog` with their token, service type `key-manager`)."""

    def __init__(
        self,
        *,
        url: str | None,
        catalog: ServiceCatalog | None,
        interface: str,
        timeout: float,
    ) -> None:
        self.url = url.rstrip("/") if url else None
        self.catalog = catalog
        self.interface = interface
        self._client = LazySession(timeout)

    async def find(self, uuid: str, token: str | None) -> bytes | None:
        if not _usable_id(uuid):
            return None
        if token is None:
            # Barbican answers each user for their own secrets: without a token, nobody's.
            raise refused(f"Unable to retrieve certificate with ID: {uuid}")
        headers = {"X-Auth-Token": token, "Accept": "application/octet-stream"}
        try:
            base = self.url or await self._from_catalog(token)
            async with self._client().get(
                f"{base}/v1/secrets/{uuid}/payload", headers=headers
            ) as response:
                if response.status == 404:
                    return None
                if response.status >= 500:
                    raise _unavailable(f"Barbican answered {response.status}")
                if response.status != 200:
                    log.warning("barbican_refused_certificate", uuid=uuid, status=response.status)
                    raise refused(f"Unable to retrieve certificate with ID: {uuid}")
                return await response.read()
        except (aiohttp.ClientError, TimeoutError) as e:
            raise _unavailable(str(e) or type(e).__name__) from e

    async def _from_catalog(self, token: str) -> str:
        if self.catalog is None:
            raise _unavailable("no Keystone address to find Barbican in")
        try:
            url = await self.catalog.endpoint(token, "key-manager", self.interface)
        except CatalogError as e:
            raise _unavailable(e.message) from e
        if url is None:
            raise _unavailable("no key-manager endpoint in the caller's catalog")
        return url

    async def close(self) -> None:
        await self._client.close()


class FirstFound:
    """The certificate from the first source that has it (none: no certificate is found)."""

    def __init__(
        self, folder: DirectoryCertificates | None, barbican: BarbicanCertificates | None
    ) -> None:
        self.barbican = barbican
        self.sources: Sequence[Certificates] = [s for s in (folder, barbican) if s is not None]

    async def find(self, uuid: str, token: str | None) -> bytes | None:
        for source in self.sources:
            found = await source.find(uuid, token)
            if found is not None:
                return found
        return None

    async def close(self) -> None:
        if self.barbican is not None:
            await self.barbican.close()


def _unavailable(why: str) -> ServiceUnavailable:
    log.warning("key_manager_unavailable", reason=why)
    return ServiceUnavailable("The key manager is not available; try again later.")
