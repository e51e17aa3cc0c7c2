"""The card side: a My Number Card's JPKI AP and a plain UID card, answering APDUs in Python.

Used in-process by :mod:`pos.card.simulated` and over vpcd's socket by :mod:`pos.virtualcard.vcard`.
They answer with real status words, keep a real PIN retry counter and lock, sign with a real
RSA key, can fail on purpose (:class:`Faults`), and record every APDU they receive so tests can
prove what the host never asked (the VERIFY data, i.e. the PIN, is masked in that record).
"""

from __future__ import annotations

import abc
import os
import threading
import time
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, utils
from cryptography.hazmat.primitives.serialization import Encoding

from pos.card import apdu
from pos.virtualcard.credentials import CardCredentials

_HASHES: dict[str, hashes.HashAlgorithm] = {
    "sha1": hashes.SHA1(),
    "sha256": hashes.SHA256(),
    "sha384": hashes.SHA384(),
    "sha512": hashes.SHA512(),
}


class CardPulled(Exception):
    """Raised by an applet when a fault says the card leaves the field before answering."""


@dataclass
class Faults:
    """Switches that make a card misbehave; each is checked on every APDU.

    Attributes:
        pull_after: leave the field (no answer) when this many more APDUs have arrived.
        short_read: answer READ BINARY with a single byte (no status word).
        wrong_sw: answer READ BINARY with this status word instead of data.
        garbage_certificate: serve random bytes (under a valid DER header) as the certificate.
        delay_s: answer every APDU this much later (a slow card).
    """

    pull_after: int | None = None
    short_read: bool = False
    wrong_sw: int | None = None
    garbage_certificate: bool = False
    delay_s: float = 0.0


def _sw(sw: int, data: bytes = b"") -> bytes:
    return data + sw.to_bytes(2, "big")


class Applet(abc.ABC):
    """Base of the virtual cards: an ATR, a fault switchboard and the record of APDUs received."""

    atr: bytes = b""

    def __init__(self) -> None:
        self.faults = Faults()
        self.received: list[bytes] = []
        self._lock = threading.Lock()

    def power_on(self) -> None:
        """A reset or a new field: the card forgets selections and verified state."""
        return None  # a plain card keeps nothing between sessions; JPKI cards override this

    def process(self, command: bytes) -> bytes:
        """Answer one APDU (data + SW1 SW2).

        Raises:
            CardPulled: the ``pull_after`` fault fired: the card is gone before answering.
        """
        with self._lock:
            self.received.append(_masked(command))
            faults = self.faults
            if faults.pull_after is not None:
                if faults.pull_after <= 0:
                    raise CardPulled()
                faults.pull_after -= 1
            if faults.delay_s:
                time.sleep(faults.delay_s)
            if command[1:2] == b"\xb0":
                if faults.short_read:
                    return b"\x90"
                if faults.wrong_sw is not None:
                    return _sw(faults.wrong_sw)
            return self._answer(command)

    @abc.abstractmethod
    def _answer(self, command: bytes) -> bytes:
        """The card's own answer to ``command`` (data + SW1 SW2), after the faults had their say."""

    def selected_aids(self) -> list[bytes]:
        """Every AID the host asked to select by DF name, in order."""
        return [c[5 : 5 + c[4]] for c in self.received if c[:3] == b"\x00\xa4\x04" and len(c) > 5]

    def selected_efs(self) -> list[int]:
        """Every EF id the host asked to select, in order."""
        return [int.from_bytes(c[5:7], "big") for c in self.received if c[:3] == b"\x00\xa4\x02"]


def _masked(command: bytes) -> bytes:
    # A VERIFY's data is the PIN: keep its length, never its digits.
    if command[1:2] == b"\x20" and len(command) > 5:
        return command[:5] + b"*" * (len(command) - 5)
    return command


class UidCard(Applet):
    """A memory card (MIFARE-like, or FeliCa with ``felica=True``) that only tells its UID."""

    def __init__(self, uid: bytes, *, felica: bool = False) -> None:
        super().__init__()
        self.uid = uid
        self.atr = apdu.ATR_FELICA if felica else apdu.ATR_MIFARE

    def _answer(self, command: bytes) -> bytes:
        if command == apdu.GET_UID:
            return _sw(apdu.SW_OK, self.uid)
        if command[0] == 0xFF:
            return _sw(apdu.SW_WRONG_P1P2)
        return _sw(apdu.SW_CLA_UNSUPPORTED)


class JpkiCard(Applet):
    """A My Number Card's JPKI AP: token, certificates, the user-authentication key and PIN.

    Args:
        credentials: the card's key and certificate (and its CA, served from EF ``000B``).
        pin: the 4-digit user-authentication PIN.
        tries_left: the retry counter (0 = locked).
        token: EF ``0006``; ``apdu.TOKEN_JUKI`` makes an old 住基カード.
    """

    atr = apdu.ATR_JPKI

    def __init__(
        self,
        credentials: CardCredentials,
        pin: str = "1234",
        tries_left: int = apdu.AUTH_PIN_TRIES,
        token: bytes = apdu.TOKEN_MY_NUMBER,
    ) -> None:
        super().__init__()
        self.credentials = credentials
        self._pin = pin.encode("ascii")
        self.tries_left = tries_left
        self._token = token.ljust(0x20, b" ")
        self._ca_der = credentials.ca_certificate.public_bytes(Encoding.DER)
        self._ap_selected = False
        self._ef: int | None = None
        self._verified = False

    def power_on(self) -> None:
        """Forget the selected AP and EF and the verified PIN."""
        self._ap_selected, self._ef, self._verified = False, None, False

    def _files(self) -> dict[int, bytes]:
        cert = self.credentials.certificate_der
        if self.faults.garbage_certificate:
            cert = cert[:4] + os.urandom(len(cert) - 4)
        return {apdu.EF_TOKEN: self._token, apdu.EF_AUTH_CERT: cert, apdu.EF_AUTH_CA: self._ca_der}

    def _answer(self, command: bytes) -> bytes:
        cla_ins, p1p2 = command[:2], command[2:4]
        if cla_ins == b"\x00\xa4":
            return self._select(command)
        if cla_ins == b"\x00\xb0":
            return self._read(command)
        if cla_ins == b"\x00\x20" and p1p2 == b"\x00\x80":
            return self._verify(command)
        if cla_ins == b"\x80\x2a" and p1p2 == b"\x00\x80":
            return self._sign(command)
        return _sw(apdu.SW_INS_UNSUPPORTED if command[0] in (0x00, 0x80) else apdu.SW_CLA_UNSUPPORTED)

    def _select(self, command: bytes) -> bytes:
        if len(command) < 5 or len(command) < 5 + command[4]:
            return _sw(apdu.SW_WRONG_LENGTH)
        body = command[5 : 5 + command[4]]
        if command[2] == 0x04:
            self._ap_selected = body == apdu.JPKI_AID
            self._ef, self._verified = None, False
            return _sw(apdu.SW_OK if self._ap_selected else apdu.SW_NOT_FOUND)
        if command[2] == 0x02 and self._ap_selected and len(body) == 2:
            ef = int.from_bytes(body, "big")
            if ef in (*self._files(), apdu.EF_AUTH_KEY, apdu.EF_AUTH_PIN):
                self._ef = ef
                return _sw(apdu.SW_OK)
        return _sw(apdu.SW_NOT_FOUND)

    def _read(self, command: bytes) -> bytes:
        data = self._files().get(self._ef or -1)
        if data is None:
            return _sw(apdu.SW_NO_CURRENT_EF if self._ef is None else apdu.SW_SECURITY)
        offset = (command[2] << 8) | command[3]
        want = (command[4] or 256) if len(command) == 5 else 256
        if command[2] & 0x80 or offset >= len(data):
            return _sw(apdu.SW_WRONG_P1P2)
        chunk = data[offset : offset + want]
        return _sw(apdu.SW_OK if len(chunk) == want else apdu.SW_END_OF_FILE, chunk)

    def _verify(self, command: bytes) -> bytes:
        if self._ef != apdu.EF_AUTH_PIN:
            return _sw(apdu.SW_NO_CURRENT_EF)
        if self.tries_left <= 0:
            return _sw(apdu.SW_REF_DATA_UNUSABLE)
        if len(command) == 4:
            return _sw(0x63C0 | self.tries_left)
        if len(command) < 5 or len(command) != 5 + command[4]:
            return _sw(apdu.SW_WRONG_LENGTH)
        if command[5:] == self._pin:
            self.tries_left = apdu.AUTH_PIN_TRIES
            self._verified = True
            return _sw(apdu.SW_OK)
        self.tries_left -= 1
        self._verified = False
        return _sw(0x63C0 | self.tries_left)

    def _sign(self, command: bytes) -> bytes:
        if self._ef != apdu.EF_AUTH_KEY or not self._verified:
            return _sw(apdu.SW_SECURITY)
        if len(command) < 6 or len(command) < 5 + command[4]:
            return _sw(apdu.SW_WRONG_LENGTH)
        parsed = apdu.split_digest_info(command[5 : 5 + command[4]])
        if parsed is None:
            return _sw(apdu.SW_WRONG_DATA)
        name, digest = parsed
        algorithm = _HASHES[name]
        signature = self.credentials.key.sign(digest, padding.PKCS1v15(), utils.Prehashed(algorithm))
        return _sw(apdu.SW_OK, signature)
