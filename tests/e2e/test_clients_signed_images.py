"""Signed images uploaded through the clients: python-glanceclient and openstacksdk send the
signature properties with the image and its data with the upload; data that does not match
is refused, and the image is left as it was."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from glanceclient.exc import HTTPBadRequest

from tests.e2e.conftest import (
    IGNORE_SDK_DEPRECATIONS,
    PROJECT_A,
    StartServer,
    glance_api,
    sdk,
)
from tests.signing import signed

pytestmark = IGNORE_SDK_DEPRECATIONS

DATA = b"a signed image through the clients\n" * 8192


@pytest.fixture
def certificates(tmp_path: Path) -> Path:
    return tmp_path / "certificates"


@pytest.fixture
def signing_server(serve: StartServer, certificates: Path) -> str:
    return serve({"CATALOG_SIGNATURE_CERTIFICATES_DIR": str(certificates)})


def test_glanceclient_uploads_signed_data_and_is_refused_other_data(
    signing_server: str, certificates: Path
) -> None:
    client = glance_api(signing_server, PROJECT_A)
    made = signed(DATA, "RSA-PSS", "SHA-256")
    made.kept_in(certificates)
    properties: dict[str, Any] = dict(made.properties)
    image = client.images.create(
        name="signed", disk_format="raw", container_format="bare", **properties
    )
    with pytest.raises(HTTPBadRequest, match="Signature verification failed"):
        client.images.upload(image.id, io.BytesIO(DATA + b"tampered"))
    refused = client.images.get(image.id)
    assert (refused.status, refused.size) == ("queued", None)
    client.images.upload(image.id, io.BytesIO(DATA))
    assert client.images.get(image.id).status == "active"


def test_openstacksdk_creates_a_signed_image(signing_server: str, certificates: Path) -> None:
    conn = sdk(signing_server, PROJECT_A)
    made = signed(DATA, "ECC_SECP384R1", "SHA-384")
    made.kept_in(certificates)
    properties: dict[str, Any] = dict(made.properties)
    image = conn.image.create_image(
        name="sdk-signed",
        disk_format="raw",
        container_format="bare",
        data=DATA,
        validate_checksum=False,
        **properties,
    )
    shown = conn.image.get_image(image.id)
    assert (shown.status, shown.size) == ("active", len(DATA))
    assert shown.properties["img_signature_key_type"] == "ECC_SECP384R1"

    unknown = signed(DATA)  # its certificate is nowhere
    created = conn.image.create_image(
        name="sdk-unknown-certificate",
        disk_format="raw",
        container_format="bare",
        **unknown.properties,
    )
    # The SDK's upload into an existing image answers with the server's response.
    response = created.upload(conn.image, data=DATA)
    assert response.status_code == 400
    assert "Certificate not found with ID" in response.text
    assert conn.image.get_image(created.id).status == "queued"
