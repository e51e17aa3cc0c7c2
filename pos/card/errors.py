"""The card family of errors, each with a stable ``code`` and a message for the screen.

Lower libraries (pyscard, the socket of a virtual card) are translated into these at one
boundary (:func:`pos.card.pcsc.map_hresult`), so the counter app only ever sees a ``CardError``.
No error ever carries a PIN or a partial card key.

Two names are shared with :mod:`pos.card.events` (``CardRemoved``, ``ReaderGone``): import the
modules (``from pos.card import errors, events``) and write ``errors.CardRemoved``.
"""

from __future__ import annotations

from collections.abc import Mapping

from pos.i18n import N_, explain


class CardError(Exception):
    """Base of every card error: ``code`` for programs, ``text`` (a message id) for people."""

    code = "card_error"
    text = N_("The card could not be read. Please tap it again.")
    params: Mapping[str, object] = {}

    def __init__(self, detail: str = "") -> None:
        super().__init__(detail or self.text.format(**self.params))
        self.detail = detail

    def message(self, language: str | None = None) -> str:
        """The message for the screen in ``language`` (default: the counter's language)."""
        return explain(self, language)


# Reader and service -------------------------------------------------------------------


class PcscUnavailable(CardError):
    """The PC/SC service (pcscd) is not running or stopped answering."""

    code = "pcsc_unavailable"
    text = N_("The card reader service (pcscd) is not running.")


class ReaderGone(CardError):
    """The reader vanished (unplugged, or its driver went away)."""

    code = "reader_gone"
    text = N_("The card reader is gone. Please check its cable.")


class NoReader(CardError):
    """No card reader is connected at all."""

    code = "no_reader"
    text = N_("No card reader is connected.")


# Card presence ------------------------------------------------------------------------


class NoCard(CardError):
    """No card is on the reader."""

    code = "no_card"
    text = N_("No card on the reader. Please tap a card.")


class CardRemoved(CardError):
    """The card left the reader before the reading finished."""

    code = "card_removed"
    text = N_("The card was removed while reading. Please tap it again.")


# What the card answered ---------------------------------------------------------------


class CardMalformed(CardError):
    """A short, garbled or nonsensical answer, or a certificate that is not one."""

    code = "card_malformed"
    text = N_("The card gave an invalid answer. Please tap it again.")


class UnexpectedStatus(CardMalformed):
    """The card answered a status word the protocol does not allow at that step."""

    code = "card_status"

    def __init__(self, sw: int, step: str) -> None:
        super().__init__(f"{step}: status word {sw:04X}")
        self.sw = sw
        self.step = step


class UnsupportedCard(CardError):
    """A card we do not take (an old 住基カード, or one that has neither JPKI nor a UID)."""

    code = "card_unsupported"
    text = N_("This card cannot be used. Please use a My Number Card or a registered card.")


# PIN ----------------------------------------------------------------------------------


class PinError(CardError):
    """Base of the PIN errors."""

    code = "pin_error"


class PinFormat(PinError):
    """The PIN typed is not 4 digits; nothing was sent to the card and no try was spent."""

    code = "pin_format"
    text = N_("The PIN is 4 digits.")


class WrongPin(PinError):
    """The card refused the PIN; ``tries_left`` more wrong PINs lock it."""

    code = "wrong_pin"
    text = N_("Wrong PIN. {tries_left} more wrong tries will lock the card.")

    def __init__(self, tries_left: int) -> None:
        self.params = {"tries_left": tries_left}
        super().__init__(f"wrong PIN, {tries_left} tries left")
        self.tries_left = tries_left


class PinLocked(PinError):
    """The user-authentication PIN is locked: only the city hall can reset it."""

    code = "pin_locked"
    text = N_("The PIN is locked. Please go to your city hall to unlock it.")


class NotMyNumberCard(PinError):
    """A PIN or signature was asked of a card without the JPKI application (a UID card)."""

    code = "not_jpki"
    text = N_("This card has no PIN. Please use a My Number Card.")
