"""The protocol bytes: commands, status words, DigestInfo, ATR kinds and card keys."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pos.card import apdu
from pos.card.apdu import CardKind


def test_jpki_commands_are_the_documented_bytes() -> None:
    assert apdu.select_df(apdu.JPKI_AID) == bytes.fromhex("00A4040C0AD392F000260100000001")
    assert apdu.select_ef(apdu.EF_AUTH_CERT) == bytes.fromhex("00A4020C02000A")
    assert apdu.read_binary(0x0104, 255) == bytes.fromhex("00B00104FF")
    assert apdu.read_binary(0, 256) == bytes.fromhex("00B0000000")
    assert apdu.verify_status() == bytes.fromhex("00200080")
    assert apdu.verify_pin(b"1234") == bytes.fromhex("002000800431323334")
    assert apdu.compute_signature(b"\x01\x02") == bytes.fromhex("802A0080020102" + "00")


@pytest.mark.parametrize(("offset", "length"), [(-1, 1), (0x8000, 1), (0, 0), (0, 257)])
def test_read_binary_refuses_what_a_short_apdu_cannot_say(offset: int, length: int) -> None:
    with pytest.raises(ValueError):
        apdu.read_binary(offset, length)


def test_retry_counter_from_63cx() -> None:
    assert apdu.sw_tries(0x63C2) == 2
    assert apdu.sw_tries(0x63C0) == 0
    assert apdu.sw_tries(0x9000) is None
    assert apdu.sw_tries(0x6983) is None
    assert {0x63C0, 0x6983, 0x6984} == apdu.LOCKED_SWS


@given(st.binary(max_size=64))
@settings(max_examples=50)
def test_digest_info_is_sha256_of_the_nonce_and_splits_back(nonce: bytes) -> None:
    blob = apdu.digest_info(nonce)
    assert len(blob) == 51
    assert apdu.split_digest_info(blob) == ("sha256", hashlib.sha256(nonce).digest())
    assert apdu.split_digest_info(blob[:-1]) is None
    assert apdu.split_digest_info(hashlib.sha256(nonce).digest()) is None


def test_card_keys_follow_the_design() -> None:
    assert apdu.uid_card_key(b"\x04\xa1") == "uid:" + hashlib.sha256(b"\x04\xa1").hexdigest()
    assert apdu.jpki_card_key(b"0\x82") == "jpki:" + hashlib.sha256(b"0\x82").hexdigest()


@pytest.mark.parametrize(
    ("atr", "kind"),
    [
        (apdu.ATR_JPKI, CardKind.PROCESSOR),
        (apdu.ATR_MIFARE, CardKind.ISO14443_UID),
        (apdu.ATR_FELICA, CardKind.FELICA),
        (bytes.fromhex("3BE000FF8131FE4514"), CardKind.PROCESSOR),  # My Number Card, contact
        (bytes.fromhex("3B8F8001804F0CA0000003060300030000000068"), CardKind.ISO14443_UID),  # MIFARE 4K
        (bytes.fromhex("3B8A800180"), CardKind.PROCESSOR),  # a 14443-4 type A card
        (bytes.fromhex("3B0200"), CardKind.UNKNOWN),
        (b"", CardKind.UNKNOWN),
    ],
)
def test_kind_from_atr(atr: bytes, kind: CardKind) -> None:
    assert apdu.kind_from_atr(atr) is kind


def test_the_check_byte_makes_the_atr_xor_to_zero() -> None:
    for atr in (apdu.ATR_JPKI, apdu.ATR_MIFARE, apdu.ATR_FELICA):
        acc = 0
        for b in atr[1:]:
            acc ^= b
        assert acc == 0
