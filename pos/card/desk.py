"""The card desk: the reader as the counter's screens use it — the card lying on it now, its PIN
tries, and a signature over a server challenge.

The app keeps it up to date from the reader's events; the sale and payment screens are handed
it, so they never reach through the app for the reader. Every method that talks to the card
blocks: screens call them off the app's loop.
"""

from __future__ import annotations

from pos.card import errors
from pos.card.base import CardIdentity, CardReader


class CardDesk:
    """The tapped card (if any) on one reader; reads, PIN tries and signatures.

    Args:
        reader: the card reader (PC/SC or simulated); ``None`` runs the counter without one.
    """

    def __init__(self, reader: CardReader | None) -> None:
        self.reader = reader
        #: The card tapped last and not yet removed, and the reader it lies on.
        self.card: CardIdentity | None = None
        self.reader_name: str | None = None

    def _reader(self) -> CardReader:
        if self.reader is None:
            raise errors.NoReader("no card reader configured")
        return self.reader

    def read(self, reader_name: str) -> CardIdentity:
        """Read the card on ``reader_name`` and remember it as the tapped card."""
        with self._reader().connect(reader_name) as session:
            identity = session.read_identity()
        self.card, self.reader_name = identity, reader_name
        return identity

    def removed(self) -> None:
        """The card was taken off the reader."""
        self.card = None

    def readers(self) -> list[str]:
        """The readers connected now (none without a reader)."""
        return self.reader.readers() if self.reader is not None else []

    def pin_tries_left(self) -> int:
        """The tapped card's PIN tries left (spends none)."""
        with self._reader().connect(self.reader_name) as session:
            return session.pin_tries_left()

    def sign(self, pin: str, nonce: bytes) -> tuple[bytes, bytes]:
        """VERIFY the PIN and sign the challenge on the tapped card: (signature, certificate DER).

        Raises:
            CardError: another card is on the reader, or the card refused (wrong PIN, locked).
            NotMyNumberCard: the card has no JPKI certificate to sign with.
        """
        with self._reader().connect(self.reader_name) as session:
            identity = session.read_identity()
            if self.card is not None and identity.card_key != self.card.card_key:
                raise errors.CardError("a different card is on the reader")
            signature = session.sign_challenge(pin, nonce)
        if identity.certificate_der is None:
            raise errors.NotMyNumberCard()
        return signature, identity.certificate_der
