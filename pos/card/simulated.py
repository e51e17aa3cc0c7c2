"""A keyboard-driven simulated reader: demos without pcscd, and fast app tests.

The app binds keys to :meth:`SimulatedReader.tap` and :meth:`SimulatedReader.remove`; the cards
are the same applets the virtual card serves over vpcd (:mod:`pos.virtualcard.applet`), so the JPKI
card has a real RSA key, certificate, PIN and retry counter, and the host logic that reads it is
the one PC/SC uses (:class:`pos.card.session.ApduSession`)::

    reader = SimulatedReader()
    reader.start()
    reader.tap(SimulatedReader.uid_card("04A1B2C3D4E5F6"))   # uid:… card key
    reader.tap(demo_jpki_card())                             # PIN 1234
    reader.remove()
"""

from __future__ import annotations

import pathlib
import threading
from typing import TYPE_CHECKING

from pos.card import apdu, errors, events
from pos.card.base import CardReader
from pos.card.session import ApduSession

if TYPE_CHECKING:
    # The virtual cards (and the RSA/x509 parts of cryptography under them) load on the first
    # tap or demo card, not when the counter app starts with the simulated reader.
    from pos.virtualcard.applet import Applet, JpkiCard, UidCard
    from pos.virtualcard.credentials import CardCredentials

#: UIDs of the demo point/library cards (7-byte ISO 14443-A), in the order of the demo keys.
DEMO_UIDS = ("04A1B2C3D4E5F6", "04112233445566", "0477665544332A")
DEMO_PIN = "1234"

_demo_credentials: CardCredentials | None = None
_demo_lock = threading.Lock()


def demo_credentials() -> CardCredentials:
    """One CA + card per process (RSA key generation takes ~0.1–0.5 s, so it is made once)."""
    global _demo_credentials
    with _demo_lock:
        if _demo_credentials is None:
            from pos.virtualcard.credentials import make_credentials

            _demo_credentials = make_credentials()
        return _demo_credentials


def demo_jpki_card(credentials: CardCredentials | None = None, tries_left: int = 3) -> JpkiCard:
    """A simulated My Number Card with PIN ``1234`` (``credentials`` default: the demo ones)."""
    from pos.virtualcard.applet import JpkiCard

    return JpkiCard(credentials or demo_credentials(), pin=DEMO_PIN, tries_left=tries_left)


def saved_jpki_card(directory: pathlib.Path) -> JpkiCard:
    """The simulated My Number Card (PIN ``1234``) of credentials saved in ``directory`` (``make demo``'s)."""
    from pos.virtualcard.credentials import CardCredentials

    return demo_jpki_card(CardCredentials.load_or_create(directory))


class SimulatedSession(ApduSession):
    """A session with an in-process applet; it fails like a real card when the card is gone."""

    def __init__(self, reader: SimulatedReader, card: Applet) -> None:
        super().__init__(reader.name, card.atr)
        self._owner = reader
        self._card: Applet | None = card

    def _transmit(self, command: bytes) -> bytes:
        card = self._card
        if card is None or self._owner.card is not card:
            raise errors.CardRemoved()
        if not self._owner.plugged:
            raise errors.ReaderGone()
        from pos.virtualcard.applet import CardPulled  # loaded with the card that was tapped

        try:
            return card.process(command)
        except CardPulled:
            self._owner.remove()
            raise errors.CardRemoved() from None

    def close(self) -> None:
        """Let go of the card."""
        self._card = None


class SimulatedReader(CardReader):
    """One simulated reader; cards are tapped and removed by method calls (bound to keys).

    Events are put on :attr:`events` directly by the calling thread (never blocking).
    """

    def __init__(self, name: str = "Simulated PCD 00") -> None:
        self.name = name
        self.events = events.EventQueue()
        self.card: Applet | None = None
        self.plugged = True
        self._watching = False

    @staticmethod
    def uid_card(uid_hex: str, *, felica: bool = False) -> UidCard:
        """A plain card whose key is ``uid:`` + SHA-256 of these UID bytes."""
        from pos.virtualcard.applet import UidCard

        return UidCard(bytes.fromhex(uid_hex), felica=felica)

    # Keys the app binds --------------------------------------------------------------

    def tap(self, card: Applet) -> None:
        """Put ``card`` on the reader (a card already there is removed first)."""
        if self.card is not None:
            self.remove()
        card.power_on()
        self.card = card
        if self._watching and self.plugged:
            self.events.put(events.CardPresent(self.name, atr=card.atr))

    def remove(self) -> None:
        """Take the card off the reader (nothing happens if there is none)."""
        if self.card is None:
            return
        self.card = None
        if self._watching and self.plugged:
            self.events.put(events.CardRemoved(self.name))

    def unplug(self) -> None:
        """Pull the reader's cable (the card stays on it, unseen)."""
        if self.plugged:
            if self.card is not None and self._watching:
                self.events.put(events.CardRemoved(self.name))
            self.plugged = False
            if self._watching:
                self.events.put(events.ReaderGone(self.name))

    def plug(self) -> None:
        """Plug the reader back in."""
        if not self.plugged:
            self.plugged = True
            if self._watching:
                self.events.put(events.ReaderBack(self.name))
                if self.card is not None:
                    self.events.put(events.CardPresent(self.name, atr=self.card.atr))

    # CardReader ----------------------------------------------------------------------

    @property
    def watching(self) -> bool:
        """Whether :meth:`start` ran (and :meth:`stop` not since)."""
        return self._watching

    def readers(self) -> list[str]:
        """This one reader while plugged in."""
        return [self.name] if self.plugged else []

    def start(self) -> None:
        """Begin reporting; a card already tapped is reported as present."""
        if self._watching:
            return
        self._watching = True
        if self.plugged and self.card is not None:
            self.events.put(events.CardPresent(self.name, atr=self.card.atr))

    def stop(self) -> None:
        """Stop reporting."""
        self._watching = False

    def connect(self, reader: str | None = None) -> SimulatedSession:
        """A session with the tapped card."""
        if reader not in (None, self.name):
            raise errors.ReaderGone(f"no reader named {reader!r}")
        if not self.plugged:
            raise errors.ReaderGone(self.name) if reader else errors.NoReader()
        if self.card is None:
            raise errors.NoCard()
        return SimulatedSession(self, self.card)


__all__ = ["DEMO_PIN", "DEMO_UIDS", "SimulatedReader", "SimulatedSession", "apdu", "demo_jpki_card"]
