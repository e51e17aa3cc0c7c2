"""The card-reading protocol the counter app talks to, whatever the back-end.

Back-ends: :class:`pos.card.pcsc.PcscReader` (pcscd through pyscard) and
:class:`pos.card.simulated.SimulatedReader` (keyboard-driven, for demos and fast tests).

How the app uses it::

    reader = make_reader("pcsc")          # or "simulated"
    reader.start()                        # events begin to arrive in reader.events
    event = await reader.events.aget()    # CardPresent / CardRemoved / ReaderGone / ReaderBack
    with reader.connect(event.reader) as card:
        identity = card.read_identity()   # identity.card_key: "jpki:…" or "uid:…"
        tries = card.pin_tries_left()     # show it before asking for the PIN
        signature = card.sign_challenge(pin, nonce)   # VERIFY then sign, the PIN not kept
    reader.stop()

Events arrive through :class:`pos.card.events.EventQueue`, filled from the reader's own thread
without blocking it; the app takes them on its own loop, so no app code runs on pyscard's thread.
Every failure is a :class:`pos.card.errors.CardError` with Japanese and English messages.
"""

from __future__ import annotations

import abc
import datetime as dt
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING

from pos.card import errors, events
from pos.card.apdu import CardKind, digest_info
from pos.card.errors import (
    CardError,
    CardMalformed,
    NoCard,
    NoReader,
    NotMyNumberCard,
    PcscUnavailable,
    PinError,
    PinFormat,
    PinLocked,
    UnexpectedStatus,
    UnsupportedCard,
    WrongPin,
)
from pos.card.events import CardEvent, CardPresent, EventQueue, ReaderBack

if TYPE_CHECKING:
    from cryptography import x509

__all__ = [
    "CardError",
    "CardEvent",
    "CardIdentity",
    "CardKind",
    "CardMalformed",
    "CardPresent",
    "CardReader",
    "CardSession",
    "EventQueue",
    "NoCard",
    "NoReader",
    "NotMyNumberCard",
    "PcscUnavailable",
    "PinError",
    "PinFormat",
    "PinLocked",
    "ReaderBack",
    "UnexpectedStatus",
    "UnsupportedCard",
    "WrongPin",
    "digest_info",
    "errors",
    "events",
    "make_reader",
]


@dataclass(frozen=True)
class CardIdentity:
    """Who a card is, as far as we may know: never the individual number (個人番号).

    Attributes:
        card_key: ``jpki:<sha256 of cert DER>`` or ``uid:<sha256 of UID>``.
        kind: ``MY_NUMBER``, ``ISO14443_UID`` or ``FELICA``.
        atr: the card's answer-to-reset.
        certificate_der: the JPKI user-authentication certificate (no personal data), or ``None``.
        apdus: how many APDUs the reading took.
    """

    card_key: str
    kind: CardKind
    atr: bytes
    certificate_der: bytes | None = field(default=None, repr=False)
    apdus: int = 0

    @property
    def certificate(self) -> x509.Certificate | None:
        """The parsed certificate (``cryptography``), or ``None`` for a UID card."""
        if self.certificate_der is None:
            return None
        from cryptography import x509  # on first use: x509 is 20 ms of the app's start

        return x509.load_der_x509_certificate(self.certificate_der)

    def certificate_summary(self) -> dict[str, str] | None:
        """Subject, issuer, serial and validity of the certificate, for ``card probe``."""
        cert = self.certificate
        if cert is None:
            return None
        return {
            "subject": cert.subject.rfc4514_string(),
            "issuer": cert.issuer.rfc4514_string(),
            "serial": format(cert.serial_number, "x"),
            "not_before": cert.not_valid_before_utc.isoformat(),
            "not_after": cert.not_valid_after_utc.isoformat(),
            "expired": str(cert.not_valid_after_utc < dt.datetime.now(dt.UTC)).lower(),
        }


class CardSession(abc.ABC):
    """One connection to the card on one reader; close it (or use ``with``) when done.

    Each method does its own SELECTs, so calls are independent and may come in any order.
    """

    reader: str
    atr: bytes

    @property
    @abc.abstractmethod
    def kind(self) -> CardKind:
        """The card family from the ATR (``PROCESSOR`` until ``read_identity`` looks inside)."""

    @abc.abstractmethod
    def read_identity(self) -> CardIdentity:
        """Read the card key without a PIN.

        Returns:
            The whole identity; never a partial one.

        Raises:
            errors.CardRemoved: the card left mid-read.
            CardMalformed: a short or garbled answer, or a certificate that is not one
                (``UnexpectedStatus`` for a status word the step does not allow).
            UnsupportedCard: an old 住基カード, or a card with neither JPKI nor a UID.
            errors.ReaderGone, PcscUnavailable: the reader or pcscd went away.
        """

    @abc.abstractmethod
    def pin_tries_left(self) -> int:
        """How many wrong user-authentication PINs the card still takes; spends no try.

        Returns:
            0 (locked) to 3.

        Raises:
            NotMyNumberCard: a card without JPKI. Others as :meth:`read_identity`.
        """

    @abc.abstractmethod
    def sign(self, pin: str, digest_info: bytes) -> bytes:
        """VERIFY ``pin``, then sign ``digest_info`` with the user-authentication key.

        The PIN goes to the card in one APDU and is kept nowhere; it is never retried.

        Args:
            pin: the 4 digits the resident typed.
            digest_info: a DER DigestInfo (see :func:`pos.card.apdu.digest_info`).

        Returns:
            The RSA-2048 PKCS#1 v1.5 signature (256 bytes).

        Raises:
            PinFormat: not 4 digits (nothing sent, no try spent).
            WrongPin: refused; ``tries_left`` says how many remain.
            PinLocked: the PIN is locked (send the resident to city hall).
            NotMyNumberCard: a card without JPKI. Others as :meth:`read_identity`.
        """

    def sign_challenge(self, pin: str, nonce: bytes) -> bytes:
        """Sign a server challenge: RSA PKCS#1 v1.5 over SHA-256(``nonce``) (``PinProof``)."""
        return self.sign(pin, digest_info(nonce))

    @abc.abstractmethod
    def close(self) -> None:
        """Let go of the card (idempotent)."""

    def __enter__(self) -> CardSession:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class CardReader(abc.ABC):
    """A source of cards: lists its readers, reports card events, connects to cards.

    Attributes:
        events: where events arrive once :meth:`start` ran; safe to read from any thread.
    """

    events: EventQueue

    @abc.abstractmethod
    def readers(self) -> list[str]:
        """The names of the readers connected now.

        Raises:
            PcscUnavailable: pcscd is not running.
        """

    @abc.abstractmethod
    def start(self) -> None:
        """Begin watching (idempotent): events go to :attr:`events`.

        A card already on a reader is reported as :class:`CardPresent`. Watching survives
        readers unplugged and pcscd restarts (``ReaderGone`` … ``ReaderBack``); if pcscd is not
        running at all, one ``ReaderGone("", reason="pcsc_unavailable")`` says so. Never raises
        for pcscd being away: the watcher keeps trying.
        """

    @abc.abstractmethod
    def stop(self) -> None:
        """Stop watching and wait for the watcher to end (idempotent)."""

    @abc.abstractmethod
    def connect(self, reader: str | None = None) -> CardSession:
        """Connect to the card on ``reader`` (the first reader holding a card if ``None``).

        Returns:
            An open :class:`CardSession`.

        Raises:
            NoCard: no card there. NoReader: no reader at all.
            errors.ReaderGone: ``reader`` is not connected. PcscUnavailable: no pcscd.
        """


def make_reader(kind: str = "pcsc") -> CardReader:
    """The reader back-end by name: ``"pcsc"`` (pcscd) or ``"simulated"`` (keyboard demo)."""
    if kind == "simulated":
        from pos.card.simulated import SimulatedReader

        return SimulatedReader()
    if kind == "pcsc":
        from pos.card.pcsc import PcscReader

        return PcscReader()
    raise ValueError(f"unknown card reader back-end {kind!r}")
