"""Signing keys, their certificates and image signatures, made as an image's publisher makes
them (with the `cryptography` package), for the tests of signature verification."""

from __future__ import annotations

import base64
import functools
import hashlib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, padding, rsa
from cryptography.x509.oid import NameOID

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | dsa.DSAPrivateKey

HASHES = {
    "SHA-224": hashes.SHA224(),
    "SHA-256": hashes.SHA256(),
    "SHA-384": hashes.SHA384(),
    "SHA-512": hashes.SHA512(),
}


@functools.cache
def private_key(key_type: str) -> PrivateKey:
    """One key per key type for the whole run (DSA keys are slow to make)."""
    if key_type == "RSA-PSS":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if key_type == "DSA":
        return dsa.generate_private_key(key_size=2048)
    curve = getattr(ec, key_type.removeprefix("ECC_"))()
    return ec.generate_private_key(curve)


def certificate(
    key: PrivateKey,
    *,
    not_before: datetime | None = None,
    not_after: datetime | None = None,
    digital_signature: bool | None = None,
    der: bool = False,
) -> bytes:
    """A self-signed certificate of `key`'s public key, valid from an hour ago for a day
    unless told otherwise; with a key usage extension when `digital_signature` is given."""
    now = datetime.now(UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "image signer")])
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before or now - timedelta(hours=1))
        .not_valid_after(not_after or now + timedelta(days=1))
    )
    if digital_signature is not None:
        usage = x509.KeyUsage(
            digital_signature=digital_signature,
            content_commitment=False,
            key_encipherment=not digital_signature,
            data_encipherment=False,
            key_agreement=False,
            key_cert_sign=False,
            crl_sign=False,
            encipher_only=False,
            decipher_only=False,
        )
        builder = builder.add_extension(usage, critical=True)
    made = builder.sign(key, hashes.SHA256())
    return made.public_bytes(serialization.Encoding.DER if der else serialization.Encoding.PEM)


def signature(key: PrivateKey, hash_method: str, data: bytes) -> str:
    """The base64 signature of `data` that `img_signature` holds (Glance's scheme: the
    private key signs the data itself, hashed with `hash_method`)."""
    method = HASHES[hash_method]
    if isinstance(key, rsa.RSAPrivateKey):
        pss = padding.PSS(mgf=padding.MGF1(method), salt_length=padding.PSS.MAX_LENGTH)
        signed = key.sign(data, pss, method)
    elif isinstance(key, ec.EllipticCurvePrivateKey):
        signed = key.sign(data, ec.ECDSA(method))
    else:
        signed = key.sign(data, method)
    return base64.b64encode(signed).decode()


@dataclass(frozen=True)
class Signed:
    """Data, its signature properties, and the certificate they name."""

    data: bytes
    properties: dict[str, str]
    certificate: bytes

    @property
    def certificate_uuid(self) -> str:
        return self.properties["img_signature_certificate_uuid"]

    def kept_in(self, folder: Path) -> None:
        """Put the certificate in a certificates folder, named by its uuid."""
        folder.mkdir(parents=True, exist_ok=True)
        (folder / self.certificate_uuid).write_bytes(self.certificate)


def signed(
    data: bytes,
    key_type: str = "RSA-PSS",
    hash_method: str = "SHA-256",
    *,
    certificate_of: PrivateKey | None = None,
    **certificate_options: object,
) -> Signed:
    """`data` signed with the key of `key_type`, and a certificate (of that key unless
    `certificate_of` names another) under a new uuid."""
    key = private_key(key_type)
    made = certificate(certificate_of or key, **certificate_options)  # type: ignore[arg-type]
    properties = {
        "img_signature": signature(key, hash_method, data),
        "img_signature_hash_method": hash_method,
        "img_signature_key_type": key_type,
        "img_signature_certificate_uuid": str(uuid.uuid4()),
    }
    return Signed(data, properties, made)


def hex_digests(data: bytes, *names: str) -> dict[str, str]:
    """The hex digests a store reports for `data`, by hashlib name."""
    return {name: hashlib.new(name, data).hexdigest() for name in names}
