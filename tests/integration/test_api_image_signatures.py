"""Signed images: their data is verified as it streams in, with certificates from a folder; a
signature that fails, or that cannot be checked, refuses the upload and leaves nothing."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from infra.bootstrap import Container
from infra.settings import SignatureSettings, StoresSettings
from tests.conftest import s3_store_options
from tests.integration.conftest import (
    JSON,
    PROJECT_A,
    ApiBuilder,
    ApiClient,
    created_image_id,
    embedded_settings,
    event_count,
    settled,
    stored_files,
)
from tests.integration.consuming import consume_log
from tests.integration.test_notifications import outbox
from tests.signing import Signed, private_key, signed

OCTETS = {**PROJECT_A, **JSON, "Content-Type": "application/octet-stream"}
DATA = b"a signed image's bytes\n" * 50_000  # more than a store's block, so hashed in threads
FAILED = "Signature verification failed for image {}: "
CANNOT = FAILED + "Signature verification for the image failed: "


@pytest.fixture
def certificates(tmp_path: Path) -> Path:
    return tmp_path / "certificates"


@pytest.fixture
async def signing_api(
    tmp_path: Path, database_url: str, certificates: Path, api_for: ApiBuilder
) -> tuple[ApiClient, Container]:
    settings = embedded_settings(
        tmp_path, database_url, signatures=SignatureSettings(certificates_dir=certificates)
    )
    return await api_for(settings)


async def image_signed_as(api: ApiClient, properties: dict[str, str]) -> str:
    """A new image with these (signature) properties."""
    body: dict[str, Any] = dict(properties)
    return await created_image_id(api, **body)


async def shown(api: ApiClient, image_id: str) -> dict[str, Any]:
    image: dict[str, Any] = await (
        await api.get(f"/v2/images/{image_id}", headers=PROJECT_A)
    ).json()
    return image


async def sent(api: ApiClient, image_id: str, data: bytes, what: str = "file") -> Any:
    return await api.put(f"/v2/images/{image_id}/{what}", data=io.BytesIO(data), headers=OCTETS)


async def refused_and_left_queued(
    api: ApiClient,
    container: Container,
    made: Signed,
    message: str,
    data: bytes = DATA,
    what: str = "file",
) -> str:
    """Upload (or stage) `data` for an image with `made`'s signature: refused with 400 and
    `message` (its `{}` the image id), the image queued without data, nothing stored, and
    only the upload's start and failure recorded."""
    image_id = await image_signed_as(api, made.properties)
    before = await event_count(container, image_id)
    response = await sent(api, image_id, data, what)
    assert response.status == 400, await response.text()
    assert (await response.json())["message"].startswith(message.format(image_id) + "<br />")
    image = await shown(api, image_id)
    assert (image["status"], image["size"], image["checksum"]) == ("queued", None, None)
    assert stored_files(container) == []
    assert await event_count(container, image_id) == before + 2  # started, failed
    return image_id


@pytest.mark.parametrize(
    ("key_type", "hash_method"),
    [
        ("RSA-PSS", "SHA-224"),
        ("RSA-PSS", "SHA-256"),
        ("RSA-PSS", "SHA-384"),
        ("RSA-PSS", "SHA-512"),
        ("ECC_SECP384R1", "SHA-384"),
        ("ECC_SECP521R1", "SHA-512"),
        ("DSA", "SHA-256"),
    ],
)
async def test_signed_data_is_verified_and_becomes_active(
    signing_api: tuple[ApiClient, Container], certificates: Path, key_type: str, hash_method: str
) -> None:
    api, _ = signing_api
    made = signed(DATA, key_type, hash_method)
    made.kept_in(certificates)
    image_id = await image_signed_as(api, made.properties)
    response = await sent(api, image_id, DATA)
    assert response.status == 204, await response.text()
    image = await shown(api, image_id)
    assert (image["status"], image["size"]) == ("active", len(DATA))
    assert image["img_signature"] == made.properties["img_signature"]


async def test_a_der_certificate_named_with_an_extension_is_found(
    signing_api: tuple[ApiClient, Container], certificates: Path
) -> None:
    api, _ = signing_api
    made = signed(DATA, "ECC_SECP384R1", der=True)
    made.kept_in(certificates)
    (certificates / made.certificate_uuid).rename(certificates / f"{made.certificate_uuid}.der")
    image_id = await image_signed_as(api, made.properties)
    assert (await sent(api, image_id, DATA)).status == 204


async def test_data_that_does_not_match_its_signature_is_refused_and_leaves_nothing(
    signing_api: tuple[ApiClient, Container], certificates: Path
) -> None:
    api, container = signing_api
    made = signed(DATA, "RSA-PSS")
    made.kept_in(certificates)
    image_id = await refused_and_left_queued(
        api, container, made, FAILED + "Signature verification failed", DATA + b"tampered"
    )
    # Glance's record of a failed upload: image.upload at ERROR, then the image queued again.
    await consume_log(container, "notifications")
    messages = [m for m in await outbox(container) if image_id in str(m["payload"])]
    assert [(m["event_type"], m["priority"]) for m in messages[-2:]] == [
        ("image.upload", "ERROR"),
        ("image.update", "INFO"),
    ]
    # The right data is then accepted: the refusal changed nothing that stands in its way.
    assert (await sent(api, image_id, DATA)).status == 204


async def test_an_unknown_certificate_refuses_the_upload(
    signing_api: tuple[ApiClient, Container],
) -> None:
    api, container = signing_api
    made = signed(DATA)  # its certificate kept nowhere
    message = CANNOT + f"Certificate not found with ID: {made.certificate_uuid}."
    await refused_and_left_queued(api, container, made, message)


async def test_a_certificate_id_naming_a_file_outside_the_folder_finds_nothing(
    signing_api: tuple[ApiClient, Container], certificates: Path
) -> None:
    api, container = signing_api
    made = signed(DATA)
    made.kept_in(certificates / "inner")
    outside = f"inner/{made.certificate_uuid}"
    escaping = Signed(DATA, {**made.properties, "img_signature_certificate_uuid": outside}, b"")
    message = CANNOT + f"Certificate not found with ID: {outside}."
    await refused_and_left_queued(api, container, escaping, message)


async def test_without_a_certificate_source_a_signed_image_is_refused(
    api: ApiClient, container: Container
) -> None:
    made = signed(DATA)
    message = CANNOT + f"Certificate not found with ID: {made.certificate_uuid}."
    await refused_and_left_queued(api, container, made, message)


@pytest.mark.parametrize(
    ("made", "reason"),
    [
        (
            signed(DATA, "RSA-PSS", certificate_of=private_key("ECC_SECP384R1")),
            "Invalid public key type for signature key type: RSA-PSS.",
        ),
        (signed(DATA, "DSA", hash_method="SHA-256", digital_signature=False), "Certificate is"),
    ],
    ids=["another-key-type", "not-for-signing"],
)
async def test_a_certificate_that_cannot_verify_refuses_the_upload(
    signing_api: tuple[ApiClient, Container], certificates: Path, made: Signed, reason: str
) -> None:
    api, container = signing_api
    made.kept_in(certificates)
    image_id = await image_signed_as(api, made.properties)
    response = await sent(api, image_id, DATA)
    assert response.status == 400
    assert (await response.json())["message"].startswith(CANNOT.format(image_id) + reason)
    assert (await shown(api, image_id))["status"] == "queued"
    assert stored_files(container) == []


async def test_an_expired_certificate_refuses_the_upload(
    signing_api: tuple[ApiClient, Container], certificates: Path
) -> None:
    api, container = signing_api
    now = datetime.now(UTC)
    made = signed(DATA, not_before=now - timedelta(days=2), not_after=now - timedelta(days=1))
    made.kept_in(certificates)
    image_id = await image_signed_as(api, made.properties)
    response = await sent(api, image_id, DATA)
    assert response.status == 400
    message = (await response.json())["message"]
    assert message.startswith(CANNOT.format(image_id) + "Certificate is not valid after: ")
    assert (await shown(api, image_id))["status"] == "queued"
    assert stored_files(container) == []


@pytest.mark.parametrize(
    "left_out",
    ["img_signature", "img_signature_hash_method", "img_signature_key_type"],
)
async def test_some_signature_properties_but_not_all_verify_nothing(
    signing_api: tuple[ApiClient, Container], left_out: str
) -> None:
    api, _ = signing_api
    properties = {**signed(DATA).properties, "img_signature": "bm90IGEgc2lnbmF0dXJl"}
    del properties[left_out]
    image_id = await image_signed_as(api, properties)
    assert (await sent(api, image_id, DATA)).status == 204
    assert (await shown(api, image_id))["status"] == "active"


async def test_staged_data_is_verified_as_it_is_staged(
    signing_api: tuple[ApiClient, Container], certificates: Path
) -> None:
    api, container = signing_api
    made = signed(DATA, "ECC_SECP521R1", "SHA-512")
    made.kept_in(certificates)
    await refused_and_left_queued(
        api,
        container,
        made,
        FAILED + "Signature verification failed",
        DATA[:-1],
        what="stage",
    )
    image_id = await image_signed_as(api, made.properties)
    assert (await sent(api, image_id, DATA, "stage")).status == 204
    imported = await api.post(
        f"/v2/images/{image_id}/import",
        json={"method": {"name": "glance-direct"}},
        headers={**PROJECT_A, **JSON},
    )
    assert imported.status == 202, await imported.text()
    await settled(api)
    assert (await shown(api, image_id))["status"] == "active"


async def test_data_stored_in_s3_is_verified_in_the_same_pass(
    tmp_path: Path, database_url: str, certificates: Path, api_for: ApiBuilder
) -> None:
    stores = StoresSettings(
        stores="objects:s3", options={"objects": s3_store_options("signed-images")}
    )
    settings = embedded_settings(
        tmp_path,
        database_url,
        stores=stores,
        signatures=SignatureSettings(certificates_dir=certificates),
    )
    api, _ = await api_for(settings)
    made = signed(DATA, "DSA", "SHA-384")
    made.kept_in(certificates)
    image_id = await image_signed_as(api, made.properties)
    assert (await sent(api, image_id, DATA)).status == 204
    tampered = await image_signed_as(api, made.properties)
    response = await sent(api, tampered, DATA + b"!")
    assert response.status == 400
    assert (await shown(api, tampered))["status"] == "queued"


async def test_an_import_refuses_staged_data_whose_signature_changed_after_staging(
    signing_api: tuple[ApiClient, Container], certificates: Path
) -> None:
    api, container = signing_api
    made = signed(DATA)
    made.kept_in(certificates)
    image_id = await created_image_id(api)
    assert (await sent(api, image_id, DATA, "stage")).status == 204
    # Signed only now: the staged bytes were never verified against this signature.
    patch = [{"op": "add", "path": f"/{name}", "value": v} for name, v in made.properties.items()]
    patched = await api.patch(
        f"/v2/images/{image_id}",
        json=patch,
        headers={**PROJECT_A, "Content-Type": "application/openstack-images-v2.1-json-patch"},
    )
    assert patched.status == 200, await patched.text()
    imported = await api.post(
        f"/v2/images/{image_id}/import",
        json={"method": {"name": "glance-direct"}},
        headers={**PROJECT_A, **JSON},
    )
    assert imported.status == 400
    assert (await imported.json())["message"].startswith(
        CANNOT.format(image_id) + "The signature properties changed after the data was staged."
    )
    image = await shown(api, image_id)
    assert (image["status"], image["size"]) == ("queued", None)
    assert stored_files(container) == []
