"""Point tickets (ポイント券): signed by the server's issuing key, verifiable offline.

A ticket carries a serial, its program, a value and an expiry, signed with Ed25519. Its text
form (for the QR code) is ``MKT1`` followed by upper-case base32 without padding: only
characters a keyboard-wedge scanner types the same on every layout, and QR alphanumeric mode
stores them compactly. Its human serial is twelve digits in groups of four plus a Damm check
digit, for typing when a QR code is torn.

Face values come from :data:`DENOMINATIONS`: a ticket counter prints as few tickets as it can
(:func:`split_into_tickets`), each a multiple of the program's rounding unit.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import struct
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from points.money import MAX_AMOUNT

if TYPE_CHECKING:
    # cryptography is loaded by the functions that sign or verify: a counter that starts without
    # a ticket to check does not pay for it (``tui_start_ms``).
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

TEXT_PREFIX = "MKT1"
SERIAL_DIGITS = 12
_VERSION = 1
_EPOCH = dt.date(2000, 1, 1)
_DOMAIN = b"mykey-pos ticket v1\x00"
_HEAD = struct.Struct(">B4sQIHB")  # version, key id, serial, value, expiry day, program id length
_SIGNATURE_SIZE = 64

#: Ticket face values, largest first; a ticket counter prints as few tickets as it can.
DENOMINATIONS = (1000, 500, 100, 50, 10, 1)


def split_into_tickets(points: int, unit: int) -> list[int]:
    """Face values for ``points``, largest first (greedy over :data:`DENOMINATIONS`).

    Only denominations that are multiples of ``unit`` are used (Tenri rounds to 100 yen, so no
    50-yen tickets); a remainder no denomination fits becomes one last ticket of its own.
    """
    values = [d for d in DENOMINATIONS if d % unit == 0] or [unit]
    faces: list[int] = []
    left = points
    for value in values:
        count, left = divmod(left, value)
        faces.extend([value] * count)
    if left:
        faces.append(left)
    return faces


# Errors -------------------------------------------------------------------------------


class TicketError(ValueError):
    """A ticket that cannot be accepted; ``code`` is stable for screens and the wire."""

    code = "ticket_invalid"


class TicketGarbled(TicketError):
    """The text is not a ticket at all (a bad scan, random bytes, a wrong check digit)."""

    code = "ticket_garbled"


class TicketUnknownKey(TicketError):
    """The ticket was signed by a key this terminal or server does not know."""

    code = "ticket_unknown_key"


class TicketBadSignature(TicketError):
    """The signature does not match: the ticket was changed or forged."""

    code = "ticket_bad_signature"


class TicketExpired(TicketError):
    """The ticket's last valid day has passed."""

    code = "ticket_expired"


# Tickets and keys ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PointTicket:
    """A ticket's fields; ``expires_on`` is the last day it may be used."""

    serial: int
    program_id: str
    value: int
    expires_on: dt.date
    key_id: str

    def __post_init__(self) -> None:
        if not 0 <= self.serial < 10**SERIAL_DIGITS:
            raise ValueError(f"serial out of range: {self.serial}")
        if not 0 < self.value <= MAX_AMOUNT:
            raise ValueError(f"ticket value out of range: {self.value}")
        if not 0 < len(self.program_id.encode()) < 256 or not self.program_id.isascii():
            raise ValueError("program id must be 1-255 ASCII characters")

    @property
    def human_serial(self) -> str:
        """The serial as printed under the QR code, e.g. ``0000-1234-5678-9``."""
        return format_human_serial(self.serial)

    def _payload(self) -> bytes:
        day = (self.expires_on - _EPOCH).days
        program = self.program_id.encode("ascii")
        head = _HEAD.pack(_VERSION, bytes.fromhex(self.key_id), self.serial, self.value, day, len(program))
        return head + program


def key_id_of(public_key: Ed25519PublicKey) -> str:
    """A short stable id of a public key: the first 4 bytes of SHA-256 of its raw form, in hex."""
    raw = public_key.public_bytes_raw()
    return hashlib.sha256(raw).hexdigest()[:8]


def public_key_to_text(public_key: Ed25519PublicKey) -> str:
    """A public key as base64 of its 32 raw bytes, as terminals receive it in their config."""
    return base64.b64encode(public_key.public_bytes_raw()).decode()


def public_key_from_text(text: str) -> Ed25519PublicKey:
    """The inverse of :func:`public_key_to_text`.

    Raises:
        ValueError: the text is not base64 of 32 bytes.
    """
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    raw = base64.b64decode(text, validate=True)
    if len(raw) != 32:
        raise ValueError("an Ed25519 public key has 32 bytes")
    return Ed25519PublicKey.from_public_bytes(raw)


class TicketSigner:
    """The issuing side: holds the private key (on the server only)."""

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._key = private_key
        self.public_key = private_key.public_key()
        self.key_id = key_id_of(self.public_key)

    def issue(self, serial: int, program_id: str, value: int, expires_on: dt.date) -> str:
        """Make a ticket and return its signed text form."""
        ticket = PointTicket(serial, program_id, value, expires_on, self.key_id)
        payload = ticket._payload()
        signature = self._key.sign(_DOMAIN + payload)
        return TEXT_PREFIX + base64.b32encode(payload + signature).decode().rstrip("=")


def decode(text: str) -> PointTicket:
    """Read a ticket's fields from its text without checking the signature.

    Raises:
        TicketGarbled: the text is not a well-formed ticket.
    """
    payload, _signature = _split(text)
    return _parse(payload)


def verify(text: str, keys: Mapping[str, Ed25519PublicKey], today: dt.date) -> PointTicket:
    """Check a scanned ticket and return its fields.

    Args:
        text: the QR code's text as scanned (surrounding spaces and lower case tolerated).
        keys: known public keys by key id.
        today: the date to check expiry against.

    Raises:
        TicketGarbled: not a ticket.
        TicketUnknownKey: signed by a key not in ``keys``.
        TicketBadSignature: a changed field or a forged signature.
        TicketExpired: ``today`` is after the ticket's last day.
    """
    from cryptography.exceptions import InvalidSignature

    payload, signature = _split(text)
    ticket = _parse(payload)
    key = keys.get(ticket.key_id)
    if key is None:
        raise TicketUnknownKey(f"unknown ticket key {ticket.key_id}")
    try:
        key.verify(signature, _DOMAIN + payload)
    except InvalidSignature:
        raise TicketBadSignature("ticket signature does not match") from None
    if today > ticket.expires_on:
        raise TicketExpired(f"ticket expired on {ticket.expires_on.isoformat()}")
    return ticket


def _split(text: str) -> tuple[bytes, bytes]:
    cleaned = text.strip().upper()
    if not cleaned.startswith(TEXT_PREFIX):
        raise TicketGarbled("not a point ticket")
    body = cleaned[len(TEXT_PREFIX) :]
    try:
        raw = base64.b32decode(body + "=" * (-len(body) % 8))
    except ValueError:
        raise TicketGarbled("ticket text is not base32") from None
    # Refuse non-canonical text (changed padding bits in the last character): one ticket, one text.
    if base64.b32encode(raw).decode().rstrip("=") != body:
        raise TicketGarbled("ticket text is not canonical")
    if len(raw) < _HEAD.size + 1 + _SIGNATURE_SIZE:
        raise TicketGarbled("ticket text is too short")
    return raw[:-_SIGNATURE_SIZE], raw[-_SIGNATURE_SIZE:]


def _parse(payload: bytes) -> PointTicket:
    try:
        version, key_id, serial, value, day, length = _HEAD.unpack_from(payload)
        program = payload[_HEAD.size :].decode("ascii")
        if version != _VERSION or len(program) != length:
            raise ValueError("bad version or length")
        return PointTicket(
            serial=serial,
            program_id=program,
            value=value,
            expires_on=_EPOCH + dt.timedelta(days=day),
            key_id=key_id.hex(),
        )
    except (ValueError, struct.error, OverflowError):
        raise TicketGarbled("ticket fields are malformed") from None


# Human serials with a Damm check digit ------------------------------------------------

_DAMM = (
    (0, 3, 1, 7, 5, 9, 8, 6, 4, 2),
    (7, 0, 9, 2, 1, 5, 4, 8, 6, 3),
    (4, 2, 0, 6, 8, 7, 1, 3, 5, 9),
    (1, 7, 5, 0, 9, 8, 3, 4, 2, 6),
    (6, 1, 2, 3, 0, 4, 5, 9, 7, 8),
    (3, 6, 7, 4, 2, 0, 9, 5, 8, 1),
    (5, 8, 6, 9, 7, 2, 0, 1, 3, 4),
    (8, 9, 4, 5, 3, 6, 2, 0, 1, 7),
    (9, 4, 3, 8, 6, 1, 7, 2, 0, 5),
    (2, 5, 8, 1, 4, 3, 6, 7, 9, 0),
)


def _damm(digits: str) -> int:
    interim = 0
    for digit in digits:
        interim = _DAMM[interim][int(digit)]
    return interim


def format_human_serial(serial: int) -> str:
    """Twelve digits in groups of four and a Damm check digit: ``0000-1234-5678-9``.

    The Damm digit catches every single mistyped digit and every swap of neighbours.
    """
    digits = f"{serial:0{SERIAL_DIGITS}d}"
    if len(digits) != SERIAL_DIGITS or serial < 0:
        raise ValueError(f"serial out of range: {serial}")
    groups = [digits[i : i + 4] for i in range(0, SERIAL_DIGITS, 4)]
    return "-".join([*groups, str(_damm(digits))])


def parse_human_serial(text: str) -> int:
    """Read a typed human serial (hyphens, spaces and full-width digits allowed).

    Raises:
        TicketGarbled: wrong length, a non-digit, or a wrong check digit.
    """
    normal = unicodedata.normalize("NFKC", text)
    digits = "".join(ch for ch in normal if ch not in "- ")
    if len(digits) != SERIAL_DIGITS + 1 or not (digits.isascii() and digits.isdigit()):
        raise TicketGarbled("a ticket serial has 13 digits")
    if _damm(digits) != 0:
        raise TicketGarbled("the serial's check digit is wrong")
    return int(digits[:SERIAL_DIGITS])
