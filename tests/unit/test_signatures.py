"""Signature verification: what cursive accepts and refuses, for each key type and hash."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from catalog.signatures import KEY_TYPES, SignatureRefused, SignedWith, Verifier
from tests.signing import HASHES, Signed, hex_digests, private_key, signed

DATA = b"an image's bytes " * 1000
NOW = datetime.now(UTC)
PREFIX = "Signature verification for the image failed: "


def verifier(made: Signed, **changed: str) -> Verifier:
    signed_with = SignedWith.of({**made.properties, **changed})
    assert signed_with is not None
    return Verifier(signed_with, made.certificate, NOW)


def verify(made: Signed, data: bytes = DATA, **changed: str) -> None:
    checker = verifier(made, **changed)
    checker.verify(hex_digests(data, checker.digest_name))


def refusal(made: Signed, data: bytes = DATA, **changed: str) -> str:
    with pytest.raises(SignatureRefused) as refused:
        verify(made, data, **changed)
    return refused.value.detail


def test_the_key_types_are_cursives_on_the_curves_this_cryptography_has() -> None:
    assert KEY_TYPES == ("RSA-PSS", "DSA", "ECC_SECP521R1", "ECC_SECP384R1")


@pytest.mark.parametrize("hash_method", sorted(HASHES))
@pytest.mark.parametrize("key_type", KEY_TYPES)
def test_a_good_signature_verifies(key_type: str, hash_method: str) -> None:
    verify(signed(DATA, key_type, hash_method))


@pytest.mark.parametrize("key_type", KEY_TYPES)
def test_a_signature_of_other_data_is_refused(key_type: str) -> None:
    made = signed(DATA, key_type)
    assert refusal(made, DATA + b"!") == "Signature verification failed"


def test_a_signature_made_with_another_hash_is_refused() -> None:
    made = signed(DATA, "RSA-PSS", "SHA-256")
    assert refusal(made, img_signature_hash_method="SHA-384") == "Signature verification failed"


def test_a_der_certificate_serves_as_well_as_a_pem_one() -> None:
    verify(signed(DATA, "ECC_SECP384R1", der=True))


def test_a_certificate_of_another_key_is_refused_at_the_data() -> None:
    made = signed(DATA, "RSA-PSS", certificate_of=private_key("DSA"))
    assert refusal(made) == f"{PREFIX}Invalid public key type for signature key type: RSA-PSS."


@pytest.mark.parametrize(
    ("changed", "reason"),
    [
        (
            {"img_signature": "not base64!"},
            "The signature data was not properly encoded using base64",
        ),
        ({"img_signature_hash_method": "MD5"}, "Invalid signature hash method: MD5"),
        ({"img_signature_key_type": "RSA"}, "Invalid signature key type: RSA"),
        ({"img_signature_key_type": "ECC_SECT571K1"}, "Invalid signature key type: ECC_SECT571K1"),
        ({"img_signature_key_type": "DSA"}, "Invalid public key type for signature key type: DSA"),
        (
            {"img_signature_key_type": "ECC_SECP521R1"},
            "Invalid public key type for signature key type: ECC_SECP521R1",
        ),
    ],
)
def test_what_cannot_be_verified_is_refused_before_the_data(
    changed: dict[str, str], reason: str
) -> None:
    made = signed(DATA, "RSA-PSS")
    with pytest.raises(SignatureRefused) as refused:
        verifier(made, **changed)
    assert refused.value.detail == f"{PREFIX}{reason}."


def test_an_expired_certificate_is_refused() -> None:
    ended = NOW - timedelta(minutes=1)
    made = signed(DATA, not_before=NOW - timedelta(days=2), not_after=ended)
    assert refusal(made).startswith(f"{PREFIX}Certificate is not valid after: ")


def test_a_certificate_not_yet_valid_is_refused() -> None:
    made = signed(DATA, not_before=NOW + timedelta(hours=1), not_after=NOW + timedelta(days=2))
    assert refusal(made).startswith(f"{PREFIX}Certificate is not valid before: ")


def test_a_certificate_whose_key_usage_excludes_signing_is_refused() -> None:
    made = signed(DATA, digital_signature=False)
    assert refusal(made).startswith(f"{PREFIX}Certificate is not usable for signing")
    verify(signed(DATA, digital_signature=True))


def test_what_is_not_a_certificate_is_refused() -> None:
    made = dataclasses.replace(signed(DATA), certificate=b"-----BEGIN CERTIFICATE-----\nno\n")
    assert refusal(made).startswith(f"{PREFIX}Invalid certificate format: ")
    made = dataclasses.replace(made, certificate=b"\x00\x01")
    assert refusal(made).startswith(f"{PREFIX}Invalid certificate format: ")


@pytest.mark.parametrize(
    "left_out",
    [
        "img_signature",
        "img_signature_hash_method",
        "img_signature_key_type",
        "img_signature_certificate_uuid",
    ],
)
def test_an_image_with_some_signature_properties_is_not_verified(left_out: str) -> None:
    properties = dict(signed(DATA).properties)
    del properties[left_out]
    assert SignedWith.of(properties) is None
