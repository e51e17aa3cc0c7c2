"""The host side of the card protocol, over any APDU transport (PC/SC or in-process).

:class:`ApduSession` holds all of the JPKI and UID logic (REFERENCE.md); a back-end only
supplies ``_transmit``. It never selects the 券面事項入力補助AP nor any EF of the individual
number: :meth:`ApduSession.send` refuses such a command before it leaves the host.
"""

from __future__ import annotations

import abc
import logging

from pos.card import apdu, errors
from pos.card.apdu import CardKind
from pos.card.base import CardIdentity, CardSession

log = logging.getLogger(__name__)


class ApduSession(CardSession):
    """A :class:`CardSession` built on one method: send an APDU, get data + status word."""

    def __init__(self, reader: str, atr: bytes) -> None:
        self.reader = reader
        self.atr = atr
        self.apdus_sent = 0

    @property
    def kind(self) -> CardKind:
        """The card family from the ATR."""
        return apdu.kind_from_atr(self.atr)

    @abc.abstractmethod
    def _transmit(self, command: bytes) -> bytes:
        """Send ``command``; return the raw answer (data + SW1 SW2), raising ``CardError``."""

    def send(self, command: bytes) -> tuple[bytes, int]:
        """Send one APDU: ``(data, status word)``; refuses forbidden selections outright."""
        if command[:4] == b"\x00\xa4\x04\x0c" and command[5:] in apdu.FORBIDDEN_AIDS:
            raise AssertionError("refusing to select the 券面事項入力補助AP")  # a bug, never a card state
        if command[:4] == b"\x00\xa4\x02\x0c" and int.from_bytes(command[5:7], "big") in apdu.SIGNATURE_EFS:
            raise AssertionError("refusing to select a signature-certificate EF (personal data)")
        self.apdus_sent += 1
        answer = self._transmit(command)
        if len(answer) < 2:
            raise errors.CardMalformed(f"answer of {len(answer)} bytes to {command[:2].hex()}")
        # Only the command header is logged: a VERIFY carries the PIN in its data.
        log.debug("apdu %s -> %s", command[:4].hex(), answer[-2:].hex())
        return answer[:-2], int.from_bytes(answer[-2:], "big")

    def _expect_ok(self, command: bytes, step: str) -> bytes:
        data, sw = self.send(command)
        if sw != apdu.SW_OK:
            raise errors.UnexpectedStatus(sw, step)
        return data

    # JPKI -------------------------------------------------------------------------------

    def _select_jpki(self) -> bool:
        """SELECT the JPKI AP: ``True`` if the card has it, ``False`` if it says not found."""
        _, sw = self.send(apdu.select_df(apdu.JPKI_AID))
        if sw == apdu.SW_OK:
            return True
        if sw in (apdu.SW_NOT_FOUND, apdu.SW_INS_UNSUPPORTED, apdu.SW_CLA_UNSUPPORTED, apdu.SW_WRONG_DATA):
            return False
        raise errors.UnexpectedStatus(sw, "select JPKI AP")

    def _read_ef(self, length: int, offset: int = 0, *, exact: bool = True) -> bytes:
        """READ BINARY ``length`` bytes of the selected EF in chunks of at most 255 bytes."""
        out = bytearray()
        while len(out) < length:
            want = min(apdu.READ_CHUNK, length - len(out))
            data, sw = self.send(apdu.read_binary(offset + len(out), want))
            if sw == apdu.SW_END_OF_FILE and not exact:
                return bytes(out + data)
            if sw != apdu.SW_OK:
                raise errors.UnexpectedStatus(sw, "read binary")
            if len(data) != want:
                raise errors.CardMalformed(f"asked {want} bytes, got {len(data)}")
            out += data
        return bytes(out)

    def _read_token(self) -> bytes:
        self._expect_ok(apdu.select_ef(apdu.EF_TOKEN), "select token EF")
        return self._read_ef(0x20, exact=False).rstrip(b" \x00")

    def _read_certificate(self) -> bytes:
        self._expect_ok(apdu.select_ef(apdu.EF_AUTH_CERT), "select certificate EF")
        header = self._read_ef(4)
        # A certificate is a DER SEQUENCE of 256–65535 bytes: 30 82 <length, 2 bytes>.
        if header[0] != 0x30 or header[1] != 0x82:
            raise errors.CardMalformed(f"certificate header {header.hex()}")
        size = int.from_bytes(header[2:4], "big") + 4
        der = header + self._read_ef(size - 4, offset=4)
        try:
            from cryptography import x509  # on the first My Number Card, not at start

            cert = x509.load_der_x509_certificate(der)
            cert.public_key()
        except ValueError as exc:
            raise errors.CardMalformed("not a certificate") from exc
        return der

    def read_identity(self) -> CardIdentity:
        """Read the card key: JPKI certificate hash, or UID hash for other cards."""
        start = self.apdus_sent
        kind = self.kind
        if kind in (CardKind.PROCESSOR, CardKind.UNKNOWN) and self._select_jpki():
            token = self._read_token()
            if token == apdu.TOKEN_JUKI:
                raise errors.UnsupportedCard("住基カード")
            if not token.startswith(apdu.TOKEN_MY_NUMBER):
                raise errors.CardMalformed(f"unknown JPKI token {token[:20]!r}")
            der = self._read_certificate()
            return CardIdentity(
                card_key=apdu.jpki_card_key(der),
                kind=CardKind.MY_NUMBER,
                atr=self.atr,
                certificate_der=der,
                apdus=self.apdus_sent - start,
            )
        data, sw = self.send(apdu.GET_UID)
        if sw != apdu.SW_OK:
            raise errors.UnsupportedCard(f"no JPKI and GET UID answered {sw:04X}")
        if not 4 <= len(data) <= 10:
            raise errors.CardMalformed(f"UID of {len(data)} bytes")
        uid_kind = CardKind.FELICA if kind is CardKind.FELICA else CardKind.ISO14443_UID
        return CardIdentity(
            card_key=apdu.uid_card_key(data), kind=uid_kind, atr=self.atr, apdus=self.apdus_sent - start
        )

    def _select_pin(self) -> None:
        if self.kind in (CardKind.ISO14443_UID, CardKind.FELICA) or not self._select_jpki():
            raise errors.NotMyNumberCard()
        self._expect_ok(apdu.select_ef(apdu.EF_AUTH_PIN), "select PIN EF")

    def pin_tries_left(self) -> int:
        """Ask the retry counter (``00 20 00 80``, no data): spends no try."""
        self._select_pin()
        _, sw = self.send(apdu.verify_status())
        if sw in apdu.LOCKED_SWS:
            return 0
        tries = apdu.sw_tries(sw)
        if tries is not None:
            return tries
        if sw == apdu.SW_OK:  # already verified in this card session: the counter is full
            return apdu.AUTH_PIN_TRIES
        raise errors.UnexpectedStatus(sw, "PIN status")

    def sign(self, pin: str, digest_info: bytes) -> bytes:
        """VERIFY ``pin`` (one APDU, never retried), then sign ``digest_info``."""
        if len(pin) != 4 or not pin.isascii() or not pin.isdigit():
            raise errors.PinFormat()
        if apdu.split_digest_info(digest_info) is None:
            raise ValueError("digest_info is not a DER DigestInfo of SHA-1/256/384/512")
        self._select_pin()
        _, sw = self.send(apdu.verify_pin(pin.encode("ascii")))
        del pin  # nothing below needs it; the bytes object above is gone with the APDU
        if sw in apdu.LOCKED_SWS:
            raise errors.PinLocked()
        tries = apdu.sw_tries(sw)
        if tries is not None:
            raise errors.WrongPin(tries)
        if sw != apdu.SW_OK:
            raise errors.UnexpectedStatus(sw, "verify PIN")
        self._expect_ok(apdu.select_ef(apdu.EF_AUTH_KEY), "select key EF")
        signature = self._expect_ok(apdu.compute_signature(digest_info), "sign")
        if len(signature) != 256:
            raise errors.CardMalformed(f"signature of {len(signature)} bytes")
        return signature
