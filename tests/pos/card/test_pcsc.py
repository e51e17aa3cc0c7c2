"""Through real pcscd + vpcd: the virtual card read, pulled, garbled, PIN-checked and signing."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from pos.card import apdu, errors, events
from pos.card.pcsc import PcscReader
from pos.virtualcard.applet import JpkiCard, UidCard
from pos.virtualcard.credentials import CardCredentials
from pos.virtualcard.vcard import VirtualCard
from tests.pos.card.helpers import SLOT0, SLOT1, next_event

pytestmark = pytest.mark.pcscd

VCards = Callable[..., VirtualCard]


def insert(watcher: PcscReader, card: VirtualCard) -> events.CardPresent:
    card.insert()
    return next_event(watcher, events.CardPresent)


def test_reads_the_card_key_of_a_my_number_card(
    watcher: PcscReader, vcards: VCards, credentials: CardCredentials
) -> None:
    card = vcards(JpkiCard(credentials))
    present = insert(watcher, card)
    assert present.reader == SLOT0 and present.atr == apdu.ATR_JPKI
    with watcher.connect(present.reader) as session:
        identity = session.read_identity()
    assert identity.card_key == credentials.card_key
    assert identity.kind is apdu.CardKind.MY_NUMBER
    assert identity.certificate_der == credentials.certificate_der
    # The individual number's application and the signature certificate's EFs are never asked for.
    assert set(card.applet.selected_aids()) == {apdu.JPKI_AID}
    assert set(card.applet.selected_efs()) == {apdu.EF_TOKEN, apdu.EF_AUTH_CERT}
    assert not apdu.FORBIDDEN_AIDS & set(card.applet.selected_aids())


def test_insert_remove_and_insert_again(
    watcher: PcscReader, vcards: VCards, credentials: CardCredentials
) -> None:
    card = vcards(JpkiCard(credentials))
    insert(watcher, card)
    card.remove()
    assert next_event(watcher, events.CardRemoved).reader == SLOT0
    present = insert(watcher, card)
    with watcher.connect(present.reader) as session:
        assert session.read_identity().card_key == credentials.card_key


def test_two_cards_in_two_slots(
    watcher: PcscReader, vcards: VCards, credentials: CardCredentials, other_credentials: CardCredentials
) -> None:
    vcards(JpkiCard(credentials), slot=0).insert()
    vcards(JpkiCard(other_credentials), slot=1).insert()
    seen = {next_event(watcher, events.CardPresent).reader, next_event(watcher, events.CardPresent).reader}
    assert seen == {SLOT0, SLOT1}
    with watcher.connect(SLOT0) as first, watcher.connect(SLOT1) as second:
        assert first.read_identity().card_key == credentials.card_key
        assert second.read_identity().card_key == other_credentials.card_key


def test_card_pulled_in_the_middle_of_the_certificate(
    watcher: PcscReader, vcards: VCards, credentials: CardCredentials
) -> None:
    applet = JpkiCard(credentials)
    card = vcards(applet)
    present = insert(watcher, card)
    applet.faults.pull_after = 6  # token, then the certificate header and first chunk, then gone
    with watcher.connect(present.reader) as session, pytest.raises(errors.CardRemoved) as info:
        session.read_identity()
    assert info.value.message("ja") and info.value.message("en")
    assert next_event(watcher, events.CardRemoved).reader == SLOT0


@pytest.mark.parametrize(
    ("fault", "value", "error"),
    [
        ("short_read", True, errors.CardMalformed),
        ("wrong_sw", 0x6F00, errors.UnexpectedStatus),
        ("garbage_certificate", True, errors.CardMalformed),
    ],
)
def test_garbled_answers_are_typed_errors_and_give_no_card_key(
    watcher: PcscReader,
    vcards: VCards,
    credentials: CardCredentials,
    fault: str,
    value: object,
    error: type[errors.CardError],
) -> None:
    applet = JpkiCard(credentials)
    setattr(applet.faults, fault, value)
    present = insert(watcher, vcards(applet))
    with watcher.connect(present.reader) as session, pytest.raises(error) as info:
        session.read_identity()
    if isinstance(info.value, errors.UnexpectedStatus):
        assert info.value.sw == 0x6F00


def test_right_pin_signs_and_the_certificate_verifies_it(
    watcher: PcscReader, vcards: VCards, credentials: CardCredentials
) -> None:
    present = insert(watcher, vcards(JpkiCard(credentials, pin="2580")))
    nonce = bytes(range(32))
    with watcher.connect(present.reader) as session:
        certificate = session.read_identity().certificate
        assert session.pin_tries_left() == 3
        signature = session.sign_challenge("2580", nonce)
    assert certificate is not None
    # What the server does with a PinProof: PKCS#1 v1.5 over SHA-256(nonce), the card's public key.
    certificate.public_key().verify(signature, nonce, padding.PKCS1v15(), hashes.SHA256())  # type: ignore[call-arg, union-attr]


def test_wrong_pins_show_the_tries_left_then_lock(
    watcher: PcscReader, vcards: VCards, credentials: CardCredentials
) -> None:
    applet = JpkiCard(credentials, pin="2580")
    present = insert(watcher, vcards(applet))
    with watcher.connect(present.reader) as session:
        with pytest.raises(errors.WrongPin) as first:
            session.sign_challenge("1111", b"n")
        assert first.value.tries_left == 2 and "2" in first.value.message("ja")
        assert session.pin_tries_left() == 2
        with pytest.raises(errors.WrongPin) as second:
            session.sign_challenge("1111", b"n")
        assert second.value.tries_left == 1
        with pytest.raises(errors.PinLocked):
            session.sign_challenge("1111", b"n")
        with pytest.raises(errors.PinLocked) as locked:
            session.sign_challenge("2580", b"n")  # the right PIN no longer helps
        assert "窓口" in locked.value.message("ja")
        assert session.pin_tries_left() == 0
    # Every VERIFY carried one PIN, and the card's record never shows its digits.
    assert all(b"2580" not in c and b"1111" not in c for c in applet.received)


def test_a_card_locked_before_it_came_says_so_without_spending_anything(
    watcher: PcscReader, vcards: VCards, credentials: CardCredentials
) -> None:
    applet = JpkiCard(credentials, tries_left=0)
    present = insert(watcher, vcards(applet))
    with watcher.connect(present.reader) as session:
        assert session.pin_tries_left() == 0
        with pytest.raises(errors.PinLocked):
            session.sign_challenge("1234", b"n")


@pytest.mark.parametrize(
    ("felica", "kind"), [(False, apdu.CardKind.ISO14443_UID), (True, apdu.CardKind.FELICA)]
)
def test_a_uid_card(watcher: PcscReader, vcards: VCards, felica: bool, kind: apdu.CardKind) -> None:
    uid = bytes.fromhex("04A1B2C3D4E5F6") if not felica else bytes.fromhex("0123456789ABCDEF")
    present = insert(watcher, vcards(UidCard(uid, felica=felica)))
    with watcher.connect(present.reader) as session:
        identity = session.read_identity()
        with pytest.raises(errors.NotMyNumberCard):
            session.pin_tries_left()
    assert identity.card_key == apdu.uid_card_key(uid)
    assert identity.kind is kind
    assert identity.certificate_der is None


def test_connect_without_a_card(watcher: PcscReader) -> None:
    with pytest.raises(errors.NoCard):
        watcher.connect(SLOT0)
    with pytest.raises(errors.NoCard):
        watcher.connect()
    with pytest.raises(errors.ReaderGone):
        watcher.connect("No Such Reader 00 00")


def test_a_slow_card_still_reads_whole(
    watcher: PcscReader, vcards: VCards, credentials: CardCredentials
) -> None:
    applet = JpkiCard(credentials)
    applet.faults.delay_s = 0.03  # every APDU answered 30 ms late
    present = insert(watcher, vcards(applet))
    with watcher.connect(present.reader) as session:
        assert session.read_identity().card_key == credentials.card_key
