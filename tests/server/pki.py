"""Certificates made in the test: a JPKI-like CA, card user-authentication certificates, TLS server certs."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import ipaddress
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

NOW = dt.datetime.now(dt.UTC)


def _name(common: str) -> x509.Name:
    return x509.Name(
        [x509.NameAttribute(NameOID.COUNTRY_NAME, "JP"), x509.NameAttribute(NameOID.COMMON_NAME, common)]
    )


@dataclass
class Authority:
    """A CA key and its self-signed certificate."""

    key: rsa.RSAPrivateKey
    certificate: x509.Certificate

    @property
    def pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)


def make_ca(common: str = "Test JPKI User Authentication CA") -> Authority:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(_name(common))
        .issuer_name(_name(common))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - dt.timedelta(days=1))
        .not_valid_after(NOW + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return Authority(key, certificate)


@dataclass
class Card:
    """A card's user-authentication key and certificate, and its card key."""

    key: rsa.RSAPrivateKey
    der: bytes

    @property
    def card_key(self) -> str:
        return "jpki:" + hashlib.sha256(self.der).hexdigest()

    def proof(self, challenge: dict[str, str], signer: rsa.RSAPrivateKey | None = None) -> dict[str, str]:
        """The sale's ``pin_proof``: RSA PKCS#1 v1.5 over SHA-256 of the nonce bytes (as the card signs)."""
        nonce = base64.b64decode(challenge["nonce"])
        signature = (signer or self.key).sign(nonce, padding.PKCS1v15(), hashes.SHA256())
        return {
            "challenge_id": challenge["challenge_id"],
            "signature": base64.b64encode(signature).decode(),
            "certificate": base64.b64encode(self.der).decode(),
        }


def make_card(ca: Authority, *, days: int = 365) -> Card:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(_name("card"))
        .issuer_name(ca.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - dt.timedelta(days=1))
        .not_valid_after(NOW + dt.timedelta(days=days))
        .sign(ca.key, hashes.SHA256())
    )
    return Card(key, certificate.public_bytes(serialization.Encoding.DER))


def make_server_cert(ca: Authority) -> tuple[bytes, bytes]:
    """A TLS certificate for 127.0.0.1 issued by ``ca``: (cert PEM, key PEM)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(_name("127.0.0.1"))
        .issuer_name(ca.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - dt.timedelta(days=1))
        .not_valid_after(NOW + dt.timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False
        )
        .sign(ca.key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    return certificate.public_bytes(serialization.Encoding.PEM), key_pem
