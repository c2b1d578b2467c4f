"""Image signature verification, as Glance does it with the cursive library.

An image whose properties hold all four of `img_signature`, `img_signature_hash_method`,
`img_signature_key_type` and `img_signature_certificate_uuid` has its data verified when it
arrives: the signature is over the data's digest with the named hash method, made with the
private key of the named certificate. With some of the four but not all, nothing is verified
(Glance's `should_create_verifier`).

This module only decides, without I/O: the certificate's bytes are fetched by the caller (a
`Certificates` port), and the digest comes from the one pass that hashes the data as it is
stored, so the bytes are never read twice. Every refusal is a `SignatureRefused` whose detail is
cursive's reason, in cursive's words.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import dsa, ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

SIGNATURE = "img_signature"
HASH_METHOD = "img_signature_hash_method"
KEY_TYPE = "img_signature_key_type"
CERTIFICATE_UUID = "img_signature_certificate_uuid"

_HASH_METHODS: Mapping[str, hashes.HashAlgorithm] = {
    "SHA-224": hashes.SHA224(),
    "SHA-256": hashes.SHA256(),
    "SHA-384": hashes.SHA384(),
    "SHA-512": hashes.SHA512(),
}

# cursive's curves, each registered only where the cryptography package still has it (the
# binary SECT curves are gone from recent ones): a signature cannot name a curve not served.
_CURVES = ("SECT571K1", "SECT409K1", "SECT571R1", "SECT409R1", "SECP521R1", "SECP384R1")

KEY_TYPES: tuple[str, ...] = (
    "RSA-PSS",
    "DSA",
    *(f"ECC_{curve}" for curve in _CURVES if hasattr(ec, curve)),
)
"""The key types a signature may name, as cursive registers them."""


class SignatureRefused(Exception):
    """The data may not be accepted: its signature, or what verifying it needs, is wrong."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


def refused(reason: str) -> SignatureRefused:
    return SignatureRefused(f"Signature verification for the image failed: {reason}.")


@dataclass(frozen=True)
class SignedWith:
    """An image's four signature properties."""

    signature: str
    hash_method: str
    key_type: str
    certificate_uuid: str

    @classmethod
    def of(cls, properties: Mapping[str, str]) -> SignedWith | None:
        """The signature to verify the image's data with; None unless all four are set."""
        names = (SIGNATURE, HASH_METHOD, KEY_TYPE, CERTIFICATE_UUID)
        if not all(name in properties for name in names):
            return None
        return cls(*(properties[name] for name in names))

    def as_properties(self) -> dict[str, str]:
        """The four properties, as an image holds them."""
        return {
            SIGNATURE: self.signature,
            HASH_METHOD: self.hash_method,
            KEY_TYPE: self.key_type,
            CERTIFICATE_UUID: self.certificate_uuid,
        }


class Verifier:
    """Checks a digest against a signature, with a certificate already found acceptable."""

    def __init__(
        self,
        signed: SignedWith,
        certificate: bytes,
        now: datetime,
    ) -> None:
        """Checks everything but the data, in cursive's order: the signature's encoding, the
        hash method, the key type, then the certificate (its format, its dates, its use, its
        key). `SignatureRefused` for the first thing wrong."""
        try:
            self._signature = base64.b64decode(signed.signature, validate=True)
        except (binascii.Error, ValueError):
            raise refused("The signature data was not properly encoded using base64") from None
        method = _HASH_METHODS.get(signed.hash_method)
        if method is None:
            raise refused(f"Invalid signature hash method: {signed.hash_method}")
        self._method = method
        if signed.key_type not in KEY_TYPES:
            raise refused(f"Invalid signature key type: {signed.key_type}")
        self._key = _public_key(_usable(_loaded(certificate, signed), now), signed.key_type)

    @property
    def digest_name(self) -> str:
        """The hashlib name of the digest `verify` needs."""
        return self._method.name

    def verify(self, digests: Mapping[str, str]) -> None:
        """`SignatureRefused` unless the signature is of the data whose hex digests these are."""
        digest = bytes.fromhex(digests[self.digest_name])
        prehashed = Prehashed(self._method)
        key = self._key
        try:
            if isinstance(key, rsa.RSAPublicKey):
                # cursive's padding: MGF1 with the same hash, the largest salt.
                pss = padding.PSS(
                    mgf=padding.MGF1(self._method), salt_length=padding.PSS.MAX_LENGTH
                )
                key.verify(self._signature, digest, pss, prehashed)
            elif isinstance(key, ec.EllipticCurvePublicKey):
                key.verify(self._signature, digest, ec.ECDSA(prehashed))
            else:
                key.verify(self._signature, digest, prehashed)
        except InvalidSignature:
            raise SignatureRefused("Signature verification failed") from None


_PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey | dsa.DSAPublicKey
_KEY_CLASSES: Mapping[str, type[_PublicKey]] = {
    "RSA-PSS": rsa.RSAPublicKey,
    "DSA": dsa.DSAPublicKey,
}
"""The public key a key type needs; every other (`ECC_<curve>`) needs an elliptic curve key."""


def _loaded(certificate: bytes, signed: SignedWith) -> x509.Certificate:
    """The X.509 certificate in `certificate`, PEM or DER."""
    try:
        if certificate.lstrip().startswith(b"-----BEGIN"):
            return x509.load_pem_x509_certificate(certificate)
        return x509.load_der_x509_certificate(certificate)
    except ValueError:
        raise refused(
            f"Invalid certificate format: the certificate with ID {signed.certificate_uuid} "
            "is not an X.509 certificate"
        ) from None


def _usable(certificate: x509.Certificate, now: datetime) -> x509.Certificate:
    """The certificate, if it is valid now and may sign (cursive's date checks; a key usage
    extension, where there is one, must allow digital signatures)."""
    if now < certificate.not_valid_before_utc:
        raise refused(f"Certificate is not valid before: {certificate.not_valid_before_utc} UTC")
    if now > certificate.not_valid_after_utc:
        raise refused(f"Certificate is not valid after: {certificate.not_valid_after_utc} UTC")
    try:
        usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return certificate
    if not usage.digital_signature:
        raise refused("Certificate is not usable for signing: its key usage excludes it")
    return certificate


def _public_key(certificate: x509.Certificate, key_type: str) -> _PublicKey:
    key = certificate.public_key()
    expected = _KEY_CLASSES.get(key_type, ec.EllipticCurvePublicKey)
    if not isinstance(key, expected):
        raise refused(f"Invalid public key type for signature key type: {key_type}")
    return key
