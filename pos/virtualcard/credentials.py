"""Test and demo credentials: a CA, and a card's RSA-2048 key with its user-authentication certificate.

Real My Number Cards carry a certificate from J-LIS; the virtual and simulated cards carry one
from a CA made here, which ``make demo`` hands to the server as its trust anchor. Saved as PEM:
``ca.pem`` (trust anchor), ``ca-key.pem``, ``card-cert.pem``, ``card-key.pem`` (the card's private
key) and ``card_key.txt`` (the ``jpki:…`` card key, for ``mykey-server demo-data --card-key``).
"""

from __future__ import annotations

import datetime as dt
import os
import pathlib
import secrets
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from pos.card.apdu import jpki_card_key

FILES = ("ca.pem", "ca-key.pem", "card-cert.pem", "card-key.pem")


@dataclass(frozen=True)
class CardCredentials:
    """A CA and one card's key and user-authentication certificate issued by it."""

    ca_certificate: x509.Certificate
    ca_key: rsa.RSAPrivateKey
    certificate: x509.Certificate
    key: rsa.RSAPrivateKey

    @property
    def certificate_der(self) -> bytes:
        """The certificate as the card stores it in EF ``000A``."""
        return self.certificate.public_bytes(serialization.Encoding.DER)

    @property
    def card_key(self) -> str:
        """The ``jpki:…`` card key of this card."""
        return jpki_card_key(self.certificate_der)

    def issue_card(self) -> CardCredentials:
        """Another card (new key and certificate) from the same CA."""
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return CardCredentials(self.ca_certificate, self.ca_key, _card_cert(self, key), key)

    def save(self, directory: str | os.PathLike[str]) -> pathlib.Path:
        """Write the PEM files and ``card_key.txt`` into ``directory`` (created if missing)."""
        path = pathlib.Path(directory)
        path.mkdir(parents=True, exist_ok=True)
        pem = serialization.Encoding.PEM
        plain = (serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        (path / "ca.pem").write_bytes(self.ca_certificate.public_bytes(pem))
        (path / "card-cert.pem").write_bytes(self.certificate.public_bytes(pem))
        for name, key in (("ca-key.pem", self.ca_key), ("card-key.pem", self.key)):
            target = path / name
            target.write_bytes(key.private_bytes(pem, *plain))
            target.chmod(0o600)
        (path / "card_key.txt").write_text(self.card_key + "\n", encoding="ascii")
        return path

    @classmethod
    def load(cls, directory: str | os.PathLike[str]) -> CardCredentials:
        """Read what :meth:`save` wrote."""
        path = pathlib.Path(directory)
        ca_key = serialization.load_pem_private_key((path / "ca-key.pem").read_bytes(), None)
        key = serialization.load_pem_private_key((path / "card-key.pem").read_bytes(), None)
        if not isinstance(ca_key, rsa.RSAPrivateKey) or not isinstance(key, rsa.RSAPrivateKey):
            raise ValueError("credentials keys must be RSA")
        return cls(
            ca_certificate=x509.load_pem_x509_certificate((path / "ca.pem").read_bytes()),
            ca_key=ca_key,
            certificate=x509.load_pem_x509_certificate((path / "card-cert.pem").read_bytes()),
            key=key,
        )

    @classmethod
    def load_or_create(cls, directory: str | os.PathLike[str]) -> CardCredentials:
        """:meth:`load` if every file is there, else :func:`make_credentials` and :meth:`save`."""
        path = pathlib.Path(directory)
        if all((path / name).exists() for name in FILES):
            return cls.load(path)
        creds = make_credentials()
        creds.save(path)
        return creds


def _name(**parts: str) -> x509.Name:
    oids = {"C": NameOID.COUNTRY_NAME, "O": NameOID.ORGANIZATION_NAME, "OU": NameOID.ORGANIZATIONAL_UNIT_NAME}
    attrs = [x509.NameAttribute(oids[k], v) for k, v in parts.items() if k in oids]
    if "CN" in parts:
        attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, parts["CN"]))
    return x509.Name(attrs)


def make_credentials() -> CardCredentials:
    """A fresh test CA (RSA-2048) and one card (RSA-2048 key, certificate valid 5 years)."""
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    ca_name = _name(
        C="JP", O="mykey-pos test", OU="JPKI for user authentication (test)", CN="mykey-pos test CA"
    )
    ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(cert_sign=True), critical=True)
        .add_extension(ski, critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    partial = CardCredentials(ca_cert, ca_key, ca_cert, ca_key)
    return partial.issue_card()


def _key_usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not cert_sign,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _card_cert(ca: CardCredentials, key: rsa.RSAPrivateKey) -> x509.Certificate:
    # Like a real user-authentication certificate: no name, no address, only a random subject.
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    ca_ski = ca.ca_certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    return (
        x509.CertificateBuilder()
        .subject_name(_name(C="JP", CN=secrets.token_hex(16).upper()))
        .issuer_name(ca.ca_certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=5 * 365))
        .add_extension(_key_usage(cert_sign=False), critical=True)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.CertificatePolicies(
                [x509.PolicyInformation(x509.ObjectIdentifier("1.2.392.200149.8.5.1.3.30"), None)]
            ),
            critical=True,
        )
        .add_extension(
            x509.CRLDistributionPoints(
                [
                    x509.DistributionPoint(
                        [x509.UniformResourceIdentifier("http://crl.invalid/mykey-pos-test/auth.crl")],
                        None,
                        None,
                        None,
                    )
                ]
            ),
            critical=False,
        )
        .sign(ca.ca_key, hashes.SHA256())
    )
