"""glance-download: an image imported from another region's image service, found in the
caller's catalog in the real Keystone.

Two catalogs run here, both validating tokens with the local Keystone: `here` (the region
importing) and `there`, registered in Keystone as the image service of a region of its own
made by the test (removed afterwards). A member's token reaches both, as in a cloud.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from infra.bootstrap import Container
from infra.settings import ApiSettings, Settings, TaskSettings
from tests.e2e.conftest import BIN, Cli
from tests.http_origin import DATA, cut_short, serving_app
from tests.integration.conftest import (
    JSON,
    ApiBuilder,
    ApiClient,
    created_image_id,
    embedded_settings,
    refused_without_change,
    settled,
    stored_files,
)
from tests.keystone_accounts import Account, KeystoneAdmin, catalog_keystone, keystone_url

pytestmark = pytest.mark.keystone

LOOPBACK = "127.0.0.0/8"
COPIED = {"hw_disk_bus": "scsi", "os_distro": "debian", "trait:CUSTOM_FAST": "required"}
REMOTE = {"disk_format": "raw", "container_format": "bare", **COPIED, "department": "ops"}
"""The remote image: its formats, the properties copied by default, and one that is not."""
LOCAL = {"disk_format": "qcow2", "container_format": "ovf"}
"""The local image's formats before the import (Glance needs them set to import)."""


def keystone_mode(data_dir: Path, database_url: str | None = None, **tasks: str) -> Settings:
    """A catalog validating tokens with the local Keystone (SQLite unless `database_url`)."""
    settings = embedded_settings(
        data_dir,
        database_url,
        api=ApiSettings(auth_mode="keystone"),
        tasks=TaskSettings(**tasks) if tasks else None,  # type: ignore[arg-type]
    )
    settings.keystone = catalog_keystone()
    return settings


def base_url(api: ApiClient) -> str:
    return str(api.make_url("")).rstrip("/")


@dataclass(frozen=True)
class Regions:
    here: ApiClient
    container: Container
    there: ApiClient
    region: str
    """`there`'s region in Keystone."""
    member: Account
    token: str

    @property
    def auth(self) -> dict[str, str]:
        return {"X-Auth-Token": self.token, **JSON}

    async def remote_image(self, data: bytes | None = DATA, **body: Any) -> dict[str, Any]:
        """An image `there` (active, holding `data`, unless None: queued)."""
        created = await self.there.post("/v2/images", json={**REMOTE, **body}, headers=self.auth)
        assert created.status == 201, await created.text()
        image: dict[str, Any] = await created.json()
        if data is None:
            return image
        headers = {**self.auth, "Content-Type": "application/octet-stream"}
        uploaded = await self.there.put(
            f"/v2/images/{image['id']}/file", data=io.BytesIO(data), headers=headers
        )
        assert uploaded.status == 204, await uploaded.text()
        return await shown(self.there, image["id"], self.auth)

    async def local_image(self) -> str:
        return await created_image_id(self.here, self.auth, **LOCAL)

    async def imported(
        self, image_id: str, remote_id: str, region: str | None = None, interface: str = "public"
    ) -> dict[str, Any]:
        """The task of the glance-download of `remote_id` into `image_id`, once it ended."""
        body = glance_download(remote_id, region or self.region, glance_service_interface=interface)
        response = await self.here.post(
            f"/v2/images/{image_id}/import", json=body, headers=self.auth
        )
        assert response.status == 202, await response.text()
        await settled(self.here)
        answer = await self.here.get(f"/v2/images/{image_id}/tasks", headers=self.auth)
        task: dict[str, Any] = (await answer.json())["tasks"][0]
        return task


def glance_download(remote_id: Any, region: Any, **method: Any) -> dict[str, Any]:
    given = {"glance_image_id": remote_id, "glance_region": region, **method}
    return {"method": {"name": "glance-download", **given}}


async def shown(api: ApiClient, image_id: str, headers: dict[str, str]) -> dict[str, Any]:
    response = await api.get(f"/v2/images/{image_id}", headers=headers)
    assert response.status == 200, await response.text()
    image: dict[str, Any] = await response.json()
    return image


@contextlib.asynccontextmanager
async def regions_built(
    tmp_path: Path,
    database_url: str,
    api_for: ApiBuilder,
    keystone_admin: KeystoneAdmin,
    **tasks: str,
) -> AsyncIterator[Regions]:
    member = await keystone_admin.account("member")
    token = await keystone_admin.token_of(member)
    there, _ = await api_for(keystone_mode(tmp_path / "there"))
    here, container = await api_for(keystone_mode(tmp_path / "here", database_url, **tasks))
    async with keystone_admin.region_serving_images(base_url(there)) as region:
        yield Regions(here, container, there, region, member, token)


@pytest.fixture
async def regions(
    tmp_path: Path, database_url: str, api_for: ApiBuilder, keystone_admin: KeystoneAdmin
) -> AsyncIterator[Regions]:
    """Imports here may fetch from loopback, on any port (`there` is on 127.0.0.1)."""
    options = {"import_allowed_networks": LOOPBACK, "import_allowed_ports": ""}
    async with regions_built(tmp_path, database_url, api_for, keystone_admin, **options) as built:
        yield built


async def assert_queued_as_before(regions: Regions, image_id: str) -> None:
    """A failed import left the image as it was: queued, without data, its own formats."""
    image = await shown(regions.here, image_id, regions.auth)
    assert (image["status"], image["size"], image["checksum"]) == ("queued", None, None)
    assert {name: image[name] for name in LOCAL} == LOCAL
    assert not set(COPIED) & set(image)
    assert "os_glance_import_task" not in image
    assert stored_files(regions.container) == []


async def test_an_image_is_imported_from_another_region(regions: Regions) -> None:
    remote = await regions.remote_image()
    image_id = await regions.local_image()
    task = await regions.imported(image_id, remote["id"])
    assert (task["status"], task["type"], task["result"]) == (
        "success",
        "api_image_import",
        {"image_id": image_id},
    )
    asked = glance_download(remote["id"], regions.region, glance_service_interface="public")
    assert task["input"]["import_req"] == asked

    image = await shown(regions.here, image_id, regions.auth)
    assert image["status"] == "active"
    for name in ("disk_format", "container_format", "size", "checksum"):
        assert image[name] == remote[name], name
    assert (image["os_hash_algo"], image["os_hash_value"]) == ("sha512", remote["os_hash_value"])
    assert image["checksum"] == hashlib.md5(DATA).hexdigest()
    assert {name: image.get(name) for name in COPIED} == COPIED
    assert "department" not in image
    assert "os_glance_import_task" not in image
    assert (image["os_glance_importing_to_stores"], image["os_glance_failed_import"]) == ("", "")
    data = await regions.here.get(f"/v2/images/{image_id}/file", headers=regions.auth)
    assert await data.read() == DATA
    assert len(stored_files(regions.container)) == 1


async def test_a_region_with_keystone_offers_glance_download(regions: Regions) -> None:
    served = ["glance-direct", "web-download", "copy-image", "glance-download"]
    info = await (await regions.here.get("/v2/info/import", headers=regions.auth)).json()
    assert info["import-methods"]["value"] == served
    created = await regions.here.post("/v2/images", json={}, headers=regions.auth)
    assert created.headers["OpenStack-image-import-methods"] == ",".join(served)


@pytest.mark.parametrize(
    ("method", "message"),
    [
        (
            {"name": "glance-download", "glance_image_id": str(uuid.uuid4())},
            "'glance_region' needs to be set for glance-download import method",
        ),
        (
            {"name": "glance-download", "glance_region": "RegionOne"},
            "'glance_image_id' needs to be set for glance-download import method",
        ),
        (
            glance_download("not-a-uuid", "RegionOne")["method"],
            "Remote image id does not look like a UUID: not-a-uuid",
        ),
        (
            glance_download(str(uuid.uuid4()), 7)["method"],
            "'glance_region' needs to be set for glance-download import method",
        ),
        (
            glance_download(str(uuid.uuid4()), "RegionOne", glance_service_interface=["public"])[
                "method"
            ],
            "'glance_service_interface' must be a string: ['public']",
        ),
    ],
    ids=["no region", "no image id", "image id not a uuid", "region not a name", "interface"],
)
async def test_bad_parameters_are_400_and_change_nothing(
    regions: Regions, method: dict[str, Any], message: str
) -> None:
    image_id = await regions.local_image()
    await refused_without_change(
        regions.container,
        lambda: regions.here.post(
            f"/v2/images/{image_id}/import", json={"method": method}, headers=regions.auth
        ),
        400,
        message,
    )
    await assert_queued_as_before(regions, image_id)


async def test_an_image_with_data_is_409_and_changes_nothing(regions: Regions) -> None:
    remote = await regions.remote_image()
    image_id = await regions.local_image()
    await regions.imported(image_id, remote["id"])
    await refused_without_change(
        regions.container,
        lambda: regions.here.post(
            f"/v2/images/{image_id}/import",
            json=glance_download(remote["id"], regions.region),
            headers=regions.auth,
        ),
        409,
        "Image needs to be in 'queued' state to use 'glance-download' method",
    )


@pytest.mark.parametrize(
    ("case", "why"),
    [
        ("not active", "Source image status should be active instead of queued"),
        ("missing", "No image found with ID {remote_id} in region {region}"),
        ("unknown region", "public glance endpoint not found for region {region}"),
        ("unknown interface", "sideways glance endpoint not found for region {region}"),
    ],
)
async def test_a_failed_glance_download_fails_its_task_and_leaves_the_image_as_it_was(
    regions: Regions, case: str, why: str
) -> None:
    region = regions.region
    if case == "not active":
        remote_id = (await regions.remote_image(data=None))["id"]
    else:
        remote_id = str(uuid.uuid4())
    if case == "unknown region":
        region = f"no-such-region-{uuid.uuid4().hex[:8]}"
    interface = "sideways" if case == "unknown interface" else "public"
    image_id = await regions.local_image()
    task = await regions.imported(image_id, remote_id, region, interface)
    assert task["status"] == "failure", task
    assert task["message"] == why.format(remote_id=remote_id, region=region)
    await assert_queued_as_before(regions, image_id)


async def test_an_image_service_gone_mid_fetch_fails_the_task_and_puts_the_image_back(
    regions: Regions, keystone_admin: KeystoneAdmin
) -> None:
    """The other region describes its image, then drops the connection halfway through its
    data: the formats and properties the image took are put back, and no byte stays."""
    remote = await regions.remote_image()
    breaking = web.Application()

    async def describe(request: web.Request) -> web.Response:
        return web.json_response(remote)

    async def data(request: web.Request) -> web.StreamResponse:
        return await cut_short(request, DATA)

    breaking.router.add_get("/v2/images/{id}", describe)
    breaking.router.add_get("/v2/images/{id}/file", data)
    async with (
        serving_app(breaking) as url,
        keystone_admin.region_serving_images(url) as region,
    ):
        image_id = await regions.local_image()
        task = await regions.imported(image_id, remote["id"], region)
    assert task["status"] == "failure", task
    await assert_queued_as_before(regions, image_id)
    history = await regions.here.get(f"/v2/images/{image_id}/history", headers=regions.auth)
    changes = [e for e in (await history.json())["events"] if e["type"] == "image.updated"]
    assert len(changes) == 2  # the remote image's metadata taken, then put back


async def test_an_endpoint_the_import_filter_refuses_fails_the_task_and_fetches_nothing(
    tmp_path: Path, database_url: str, api_for: ApiBuilder, keystone_admin: KeystoneAdmin
) -> None:
    """Endpoints found in the catalog pass the import filter as URLs users give do: by
    default, ports 80 and 443 only."""
    async with regions_built(
        tmp_path, database_url, api_for, keystone_admin, import_allowed_networks=LOOPBACK
    ) as regions:
        remote = await regions.remote_image()
        image_id = await regions.local_image()
        task = await regions.imported(image_id, remote["id"])
        assert task["status"] == "failure", task
        url = f"{base_url(regions.there)}/v2/images/{remote['id']}"
        assert task["message"] == f"URI does not pass filtering: {url}"
        await assert_queued_as_before(regions, image_id)


async def test_without_keystone_glance_download_is_not_offered(
    api_for: ApiBuilder, tmp_path: Path
) -> None:
    api, container = await api_for(embedded_settings(tmp_path))
    headers = {"X-Project-Id": "proj-a", "X-Roles": "member", **JSON}
    info = await (await api.get("/v2/info/import", headers=headers)).json()
    assert "glance-download" not in info["import-methods"]["value"]
    image_id = await created_image_id(api, headers)
    await refused_without_change(
        container,
        lambda: api.post(
            f"/v2/images/{image_id}/import",
            json=glance_download(str(uuid.uuid4()), "RegionOne"),
            headers=headers,
        ),
        400,
        "Unknown import method name 'glance-download'.",
    )


async def test_without_the_callers_token_glance_download_is_400_and_changes_nothing(
    api_for: ApiBuilder, tmp_path: Path
) -> None:
    """Identity from trusted headers, Keystone's address known, but no token to ask it with."""
    settings = embedded_settings(tmp_path)
    settings.keystone = catalog_keystone()
    api, container = await api_for(settings)
    headers = {"X-Project-Id": "proj-a", "X-Roles": "member", **JSON}
    image_id = await created_image_id(api, headers)
    await refused_without_change(
        container,
        lambda: api.post(
            f"/v2/images/{image_id}/import",
            json=glance_download(str(uuid.uuid4()), "RegionOne"),
            headers=headers,
        ),
        400,
        "The glance-download import method needs the caller's token (X-Auth-Token).",
    )


async def test_the_glance_cli_imports_from_another_region(
    regions: Regions, keystone_admin: KeystoneAdmin
) -> None:
    """`glance image-import --import-method glance-download`, as a cloud's users run it: the
    region importing is found in Keystone's catalog too."""
    remote = await regions.remote_image()
    image_id = await regions.local_image()
    async with keystone_admin.region_serving_images(base_url(regions.here)) as here:
        glance = glance_cli(regions.member, here)
        completed = await asyncio.to_thread(
            glance.run,
            "image-import",
            "--import-method",
            "glance-download",
            "--remote-region",
            regions.region,
            "--remote-image-id",
            remote["id"],
            image_id,
        )
        assert completed.returncode == 0, completed.stderr
    await settled(regions.here)
    image = await shown(regions.here, image_id, regions.auth)
    assert (image["status"], image["os_hash_value"]) == ("active", remote["os_hash_value"])


def glance_cli(account: Account, region: str) -> Cli:
    env = {
        "OS_AUTH_URL": keystone_url(),
        "OS_USERNAME": account.user_name,
        "OS_PASSWORD": account.password,
        "OS_PROJECT_NAME": account.project_name,
        "OS_USER_DOMAIN_NAME": "Default",
        "OS_PROJECT_DOMAIN_NAME": "Default",
        "OS_REGION_NAME": region,
        "OS_INTERFACE": "public",
    }
    return Cli((str(BIN / "glance"),), env)
