"""The host logic against in-process cards: chunked reads, faults, PIN rules, what is never sent."""

from __future__ import annotations

import logging

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pos.card import apdu, errors
from pos.card.session import ApduSession
from pos.virtualcard.applet import Applet, JpkiCard, UidCard
from pos.virtualcard.credentials import CardCredentials


class Direct(ApduSession):
    """A session wired straight to an applet (no reader at all)."""

    def __init__(self, card: Applet) -> None:
        super().__init__("direct", card.atr)
        self.card = card

    def _transmit(self, command: bytes) -> bytes:
        return self.card.process(command)

    def close(self) -> None:
        pass


def test_the_certificate_is_read_in_chunks_of_at_most_255_bytes(credentials: CardCredentials) -> None:
    card = JpkiCard(credentials)
    identity = Direct(card).read_identity()
    reads = [c for c in card.received if c[1] == 0xB0]
    assert all(c[4] != 0 for c in reads)  # never Le=00 (256), never a truncating single read
    size = len(credentials.certificate_der)
    header, *chunks = [c for c in reads if c != apdu.read_binary(0, 0x20)]
    assert header == apdu.read_binary(0, 4)
    assert sum(c[4] for c in chunks) == size - 4
    assert identity.apdus == len(card.received)


@given(extra=st.integers(min_value=0, max_value=1500))
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_certificates_of_any_size_come_back_byte_for_byte(credentials: CardCredentials, extra: int) -> None:
    # Pad the certificate with an extension so its length crosses every chunk boundary.
    builder = (
        x509.CertificateBuilder()
        .subject_name(credentials.certificate.subject)
        .issuer_name(credentials.ca_certificate.subject)
        .public_key(credentials.key.public_key())
        .serial_number(1)
        .not_valid_before(credentials.certificate.not_valid_before_utc)
        .not_valid_after(credentials.certificate.not_valid_after_utc)
        .add_extension(
            x509.SubjectAlternativeName([x509.UniformResourceIdentifier("u:" + "x" * extra)]), critical=False
        )
    )
    cert = builder.sign(credentials.ca_key, hashes.SHA256())
    creds = CardCredentials(credentials.ca_certificate, credentials.ca_key, cert, credentials.key)
    identity = Direct(JpkiCard(creds)).read_identity()
    assert identity.certificate_der == cert.public_bytes(serialization.Encoding.DER)
    assert identity.card_key == creds.card_key


def test_an_old_juki_card_is_refused(credentials: CardCredentials) -> None:
    with pytest.raises(errors.UnsupportedCard) as info:
        Direct(JpkiCard(credentials, token=apdu.TOKEN_JUKI)).read_identity()
    assert "マイナンバーカード" in info.value.message("ja")


def test_a_processor_card_without_jpki_falls_back_to_its_uid() -> None:
    class Plain(UidCard):
        atr = apdu.ATR_JPKI  # a 14443-4 card: might have been a My Number Card, is not

    card = Plain(b"\x08\x01\x02\x03")
    card.atr = apdu.ATR_JPKI
    identity = Direct(card).read_identity()
    assert identity.card_key == apdu.uid_card_key(b"\x08\x01\x02\x03")


@pytest.mark.parametrize(
    ("fault", "value", "error"),
    [
        ("short_read", True, errors.CardMalformed),
        ("wrong_sw", 0x6A82, errors.UnexpectedStatus),
        ("garbage_certificate", True, errors.CardMalformed),
    ],
)
def test_faults_raise_typed_errors(
    credentials: CardCredentials, fault: str, value: object, error: type[errors.CardError]
) -> None:
    card = JpkiCard(credentials)
    setattr(card.faults, fault, value)
    with pytest.raises(error):
        Direct(card).read_identity()


def test_a_malformed_pin_never_reaches_the_card(credentials: CardCredentials) -> None:
    card = JpkiCard(credentials)
    session = Direct(card)
    for pin in ("123", "12345", "12a4", "１２３４", ""):
        with pytest.raises(errors.PinFormat):
            session.sign_challenge(pin, b"n")
    assert card.received == []
    assert card.tries_left == 3


def test_the_pin_is_never_logged(credentials: CardCredentials, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="pos.card")
    session = Direct(JpkiCard(credentials, pin="8642"))
    with pytest.raises(errors.WrongPin):
        session.sign_challenge("9753", b"n")
    session.sign_challenge("8642", b"n")
    assert caplog.records  # the APDUs were logged …
    assert "8642" not in caplog.text and "9753" not in caplog.text  # … never the PIN
    assert "38363432" not in caplog.text and "39373533" not in caplog.text  # not even in hex


def test_sign_refuses_anything_but_a_digest_info(credentials: CardCredentials) -> None:
    card = JpkiCard(credentials)
    with pytest.raises(ValueError):
        Direct(card).sign("1234", b"raw nonce")
    assert card.received == []  # refused before the PIN was spent


def test_the_card_refuses_to_sign_without_a_verified_pin(credentials: CardCredentials) -> None:
    card = JpkiCard(credentials)
    card.process(apdu.select_df(apdu.JPKI_AID))
    card.process(apdu.select_ef(apdu.EF_AUTH_KEY))
    assert card.process(apdu.compute_signature(apdu.digest_info(b"n")))[-2:] == b"\x69\x82"


def test_the_host_refuses_to_select_the_individual_number(credentials: CardCredentials) -> None:
    card = JpkiCard(credentials)
    session = Direct(card)
    for forbidden in apdu.FORBIDDEN_AIDS:
        with pytest.raises(AssertionError):
            session.send(apdu.select_df(forbidden))
    with pytest.raises(AssertionError):
        session.send(apdu.select_ef(0x0001))  # the signature certificate: name and address
    assert card.received == []


def test_every_path_selects_only_the_jpki_ap(credentials: CardCredentials) -> None:
    card = JpkiCard(credentials)
    session = Direct(card)
    session.read_identity()
    session.pin_tries_left()
    with pytest.raises(errors.WrongPin):
        session.sign_challenge("0000", b"n")
    session.sign_challenge("1234", b"n")
    assert set(card.selected_aids()) == {apdu.JPKI_AID}
    assert not set(card.selected_efs()) & apdu.SIGNATURE_EFS
    assert set(card.selected_efs()) <= {apdu.EF_TOKEN, apdu.EF_AUTH_CERT, apdu.EF_AUTH_KEY, apdu.EF_AUTH_PIN}
