"""The bytes of the protocol: JPKI commands, status words, DigestInfo, ATR kinds, card keys.

Pure functions and constants shared by the host side (:mod:`pos.card.session`) and the card
side (:mod:`pos.virtualcard.applet`), so both speak the one protocol written once (REFERENCE.md).
"""

from __future__ import annotations

import hashlib
from enum import StrEnum

# Applications and files ---------------------------------------------------------------

#: JPKI AP (公的個人認証AP): the only application we ever select on a My Number Card.
JPKI_AID = bytes.fromhex("D392F000260100000001")
#: 券面事項入力補助AP: holds the 12-digit individual number. Never selected (番号法 §20).
FORBIDDEN_AIDS = frozenset({bytes.fromhex("D3921000310001010408")})

EF_TOKEN = 0x0006  # JPKIAPICCTOKEN2 (My Number Card) / JPKIAPICCTOKEN (住基カード)
EF_AUTH_CERT = 0x000A  # user-authentication certificate (利用者証明用電子証明書), no PIN needed
EF_AUTH_CA = 0x000B
EF_AUTH_KEY = 0x0017
EF_AUTH_PIN = 0x0018  # 4 digits, 3 tries
#: EFs of the signature certificate (署名用電子証明書): not ours to use.
SIGNATURE_EFS = frozenset({0x0001, 0x0002, 0x001A, 0x001B})

TOKEN_MY_NUMBER = b"JPKIAPICCTOKEN2"
TOKEN_JUKI = b"JPKIAPICCTOKEN"
AUTH_PIN_TRIES = 3
READ_CHUNK = 255  # a short READ BINARY answers at most 256 bytes; keep Le in one byte

# Status words -------------------------------------------------------------------------

SW_OK = 0x9000
SW_END_OF_FILE = 0x6282  # fewer bytes than Le: the file ends first
SW_WRONG_LENGTH = 0x6700
SW_SECURITY = 0x6982  # security status not satisfied (sign without VERIFY)
SW_AUTH_BLOCKED = 0x6983
SW_REF_DATA_UNUSABLE = 0x6984
SW_NO_CURRENT_EF = 0x6986
SW_WRONG_DATA = 0x6A80
SW_NOT_FOUND = 0x6A82
SW_WRONG_P1P2 = 0x6B00
SW_INS_UNSUPPORTED = 0x6D00
SW_CLA_UNSUPPORTED = 0x6E00
LOCKED_SWS = frozenset({0x63C0, SW_AUTH_BLOCKED, SW_REF_DATA_UNUSABLE})


def sw_tries(sw: int) -> int | None:
    """The retry counter in a ``63 Cx`` status word, else ``None``."""
    return sw & 0x0F if sw & 0xFFF0 == 0x63C0 else None


# Commands -----------------------------------------------------------------------------


def select_df(aid: bytes) -> bytes:
    """SELECT an application by DF name, no answer data (``00 A4 04 0C``)."""
    return bytes([0x00, 0xA4, 0x04, 0x0C, len(aid)]) + aid


def select_ef(ef: int) -> bytes:
    """SELECT an elementary file of the current application by its 2-byte id."""
    return bytes([0x00, 0xA4, 0x02, 0x0C, 0x02]) + ef.to_bytes(2, "big")


def read_binary(offset: int, length: int) -> bytes:
    """READ BINARY ``length`` (1–256) bytes at ``offset`` (< 32768: bit 8 of P1 means SFI)."""
    if not 0 <= offset < 0x8000 or not 1 <= length <= 256:
        raise ValueError("offset or length out of range")
    return bytes([0x00, 0xB0, offset >> 8, offset & 0xFF, length & 0xFF])


def verify_status() -> bytes:
    """VERIFY with no data: asks the retry counter (``63 Cx``) without spending a try."""
    return bytes([0x00, 0x20, 0x00, 0x80])


def verify_pin(pin: bytes) -> bytes:
    """VERIFY the PIN of the current application (``00 20 00 80 Lc <ASCII digits>``)."""
    return bytes([0x00, 0x20, 0x00, 0x80, len(pin)]) + pin


def compute_signature(digest_info: bytes) -> bytes:
    """The JPKI signature command (``80 2A 00 80 Lc <DigestInfo> 00``) with the selected key."""
    return bytes([0x80, 0x2A, 0x00, 0x80, len(digest_info)]) + digest_info + b"\x00"


GET_UID = bytes.fromhex("FFCA000000")  # PC/SC part 3 GET DATA: UID / PUPI / FeliCa IDm

# DigestInfo (RFC 8017 §9.2 note 1) ----------------------------------------------------

DIGEST_INFO_PREFIX = {
    "sha1": bytes.fromhex("3021300906052b0e03021a05000414"),
    "sha256": bytes.fromhex("3031300d060960864801650304020105000420"),
    "sha384": bytes.fromhex("3041300d060960864801650304020205000430"),
    "sha512": bytes.fromhex("3051300d060960864801650304020305000440"),
}


def digest_info(nonce: bytes) -> bytes:
    """The DER DigestInfo of SHA-256(``nonce``): what the card signs for a server challenge.

    The server checks the signature as RSA PKCS#1 v1.5 over SHA-256(nonce) with the
    certificate's public key, which is exactly a raw PKCS#1 v1.5 signature of this DigestInfo.
    """
    return DIGEST_INFO_PREFIX["sha256"] + hashlib.sha256(nonce).digest()


def split_digest_info(blob: bytes) -> tuple[str, bytes] | None:
    """``(hash name, digest)`` of a DigestInfo we know, else ``None``."""
    for name, prefix in DIGEST_INFO_PREFIX.items():
        if blob.startswith(prefix) and len(blob) == len(prefix) + hashlib.new(name).digest_size:
            return name, blob[len(prefix) :]
    return None


# Card keys ----------------------------------------------------------------------------


def jpki_card_key(certificate_der: bytes) -> str:
    """``jpki:`` + SHA-256 of the user-authentication certificate (DESIGN.md §3)."""
    return "jpki:" + hashlib.sha256(certificate_der).hexdigest()


def uid_card_key(uid: bytes) -> str:
    """``uid:`` + SHA-256 of the card's UID bytes (DESIGN.md §3)."""
    return "uid:" + hashlib.sha256(uid).hexdigest()


# ATR ----------------------------------------------------------------------------------


class CardKind(StrEnum):
    """What a card is. From the ATR alone a card is at best ``PROCESSOR`` (it may hold JPKI)."""

    MY_NUMBER = "my_number"  # JPKI AP with JPKIAPICCTOKEN2
    JUKI = "juki"  # old 住基カード (JPKIAPICCTOKEN): refused
    PROCESSOR = "iso14443_4"  # a smart card with applications; may be a My Number Card
    ISO14443_UID = "iso14443_uid"  # a memory card (MIFARE and the like): UID only
    FELICA = "felica"  # FeliCa: IDm
    UNKNOWN = "unknown"


#: PC/SC part 3 storage-card ATR: ``3B 8F 80 01 80 4F 0C A0 00 00 03 06 SS NN NN 00 00 00 00 TCK``.
_RID_PCSC = bytes.fromhex("A000000306")
_FELICA_STANDARD = 0x11


def with_tck(atr_without_tck: bytes) -> bytes:
    """Append the check byte (XOR of everything after TS), as T=1-capable ATRs need."""
    tck = 0
    for b in atr_without_tck[1:]:
        tck ^= b
    return atr_without_tck + bytes([tck])


def kind_from_atr(atr: bytes) -> CardKind:
    """Recognise the card family from a PC/SC contactless (or JPKI contact) ATR."""
    if len(atr) >= 17 and atr[:2] == b"\x3b\x8f" and atr[4:6] == b"\x80\x4f" and atr[7:12] == _RID_PCSC:
        return CardKind.FELICA if atr[12] == _FELICA_STANDARD else CardKind.ISO14443_UID
    if len(atr) >= 4 and atr[0] == 0x3B and atr[1] & 0xF0 == 0x80 and atr[2:4] == b"\x80\x01":
        return CardKind.PROCESSOR  # ISO 14443-4 card (type A ATS or type B ATQB historical bytes)
    if atr.startswith(bytes.fromhex("3BE000FF8131FE45")):
        return CardKind.PROCESSOR  # the My Number Card's contact interface
    return CardKind.UNKNOWN


#: ATRs the virtual and simulated cards present (as a PC/SC contactless reader synthesises them).
ATR_JPKI = with_tck(bytes.fromhex("3B888001") + bytes.fromhex("00000000B3818100"))
ATR_MIFARE = with_tck(bytes.fromhex("3B8F8001804F0CA000000306030001") + bytes(4))
ATR_FELICA = with_tck(bytes.fromhex("3B8F8001804F0CA0000003061100" + "3B") + bytes(4))
