"""The simulated reader: taps and removals become events, and the JPKI card reads and signs."""

from __future__ import annotations

import asyncio

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from pos.card import apdu, errors, events
from pos.card.base import make_reader
from pos.card.simulated import DEMO_UIDS, SimulatedReader
from pos.virtualcard.applet import JpkiCard
from pos.virtualcard.credentials import CardCredentials


@pytest.fixture
def reader() -> SimulatedReader:
    reader = SimulatedReader()
    reader.start()
    return reader


def test_make_reader_builds_the_simulated_back_end() -> None:
    assert isinstance(make_reader("simulated"), SimulatedReader)
    with pytest.raises(ValueError):
        make_reader("carrier-pigeon")


def test_tap_and_remove_become_present_and_removed_events(reader: SimulatedReader) -> None:
    card = SimulatedReader.uid_card(DEMO_UIDS[0])
    reader.tap(card)
    reader.remove()
    got = reader.events.drain()
    assert got == [events.CardPresent(reader.name, atr=apdu.ATR_MIFARE), events.CardRemoved(reader.name)]


def test_a_card_already_there_is_reported_when_watching_starts() -> None:
    reader = SimulatedReader()
    reader.tap(SimulatedReader.uid_card(DEMO_UIDS[1]))
    assert reader.events.drain() == []
    reader.start()
    assert [type(e) for e in reader.events.drain()] == [events.CardPresent]


def test_uid_card_key_is_the_sha256_of_the_uid(reader: SimulatedReader) -> None:
    reader.tap(SimulatedReader.uid_card(DEMO_UIDS[0]))
    with reader.connect() as card:
        identity = card.read_identity()
    assert identity.card_key == apdu.uid_card_key(bytes.fromhex(DEMO_UIDS[0]))
    assert identity.kind is apdu.CardKind.ISO14443_UID
    assert identity.certificate_der is None


def test_felica_card_is_recognised_from_its_atr(reader: SimulatedReader) -> None:
    reader.tap(SimulatedReader.uid_card("0123456789ABCDEF", felica=True))
    with reader.connect() as card:
        assert card.read_identity().kind is apdu.CardKind.FELICA


def test_jpki_card_reads_its_certificate_key_and_signs_a_challenge(
    reader: SimulatedReader, credentials: CardCredentials
) -> None:
    reader.tap(JpkiCard(credentials, pin="4321"))
    with reader.connect() as card:
        identity = card.read_identity()
        assert identity.card_key == credentials.card_key
        assert identity.kind is apdu.CardKind.MY_NUMBER
        assert card.pin_tries_left() == 3
        signature = card.sign_challenge("4321", b"server nonce")
    credentials.certificate.public_key().verify(
        signature, b"server nonce", padding.PKCS1v15(), hashes.SHA256()
    )


def test_wrong_pin_then_lock(reader: SimulatedReader, credentials: CardCredentials) -> None:
    reader.tap(JpkiCard(credentials, pin="4321"))
    with reader.connect() as card:
        with pytest.raises(errors.WrongPin) as wrong:
            card.sign_challenge("0000", b"n")
        assert wrong.value.tries_left == 2
        assert card.pin_tries_left() == 2
        for _ in range(2):
            with pytest.raises(errors.PinError):
                card.sign_challenge("0000", b"n")
        with pytest.raises(errors.PinLocked):
            card.sign_challenge("4321", b"n")
        assert card.pin_tries_left() == 0


def test_removing_the_card_fails_the_session(reader: SimulatedReader, credentials: CardCredentials) -> None:
    reader.tap(JpkiCard(credentials))
    card = reader.connect()
    reader.remove()
    with pytest.raises(errors.CardRemoved):
        card.read_identity()


def test_unplugged_reader_reports_gone_and_back(reader: SimulatedReader) -> None:
    reader.tap(SimulatedReader.uid_card(DEMO_UIDS[2]))
    reader.events.drain()
    reader.unplug()
    with pytest.raises(errors.NoReader):
        reader.connect()
    reader.plug()
    kinds = [type(e) for e in reader.events.drain()]
    assert kinds == [events.CardRemoved, events.ReaderGone, events.ReaderBack, events.CardPresent]


def test_no_card_on_the_reader(reader: SimulatedReader) -> None:
    with pytest.raises(errors.NoCard) as info:
        reader.connect()
    assert info.value.message("ja") and info.value.message("en")


async def test_events_reach_an_asyncio_consumer_from_another_thread(reader: SimulatedReader) -> None:
    loop = asyncio.get_running_loop()
    waiting = asyncio.ensure_future(reader.events.aget())
    await asyncio.sleep(0)
    await loop.run_in_executor(None, reader.tap, SimulatedReader.uid_card(DEMO_UIDS[0]))
    event = await asyncio.wait_for(waiting, 5)
    assert isinstance(event, events.CardPresent)


def test_connecting_to_a_reader_that_is_not_there(reader: SimulatedReader) -> None:
    reader.tap(SimulatedReader.uid_card(DEMO_UIDS[0]))
    with pytest.raises(errors.ReaderGone):
        reader.connect("Some Other Reader")
    reader.unplug()
    with pytest.raises(errors.ReaderGone):
        reader.connect(reader.name)
    assert reader.readers() == []
