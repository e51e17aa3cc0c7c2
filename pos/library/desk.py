"""The library desk's flow, without a screen: who is this, may they borrow, lend, take back, the slip.

A resident taps the My Number Card; the desk turns the card into *this* library's patron number
through a :class:`MembershipLookup` (the seam the server's memberships fill, issue 16), asks the
library's own system over SIP2 whether the patron may borrow, and lends the scanned barcodes one
by one. Each item is lent or not as the library answered; when the library goes down in the
middle, :class:`Lending` says which items were lent, which were not, and which the library may
have recorded without the desk hearing its answer. Nothing is retried behind the desk's back.

Names the library returns are on the :class:`Standing` for the screen only; nothing here stores or
logs them, and the lending slip names no one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

from pos.i18n import N_, translate
from pos.library.errors import LibraryError
from pos.library.sip2 import Loan, PatronInformation, PatronStatus, Return, Sip2Client
from printers.documents import LendingSlip, LentItem

# Memberships: the seam the server fills -------------------------------------------------


class MembershipLookup(Protocol):
    """A card's membership number at one library (the server's memberships answer it, issue 16).

    The server links a resident account to a membership (issuer, number, since, status); the desk
    only asks: this card, this library — which patron number, if any?
    """

    def patron_number(self, card_key: str, institution_id: str) -> str | None:
        """The patron number of ``card_key`` at ``institution_id``, or ``None`` if not a member.

        Raises:
            LookupError: the membership service could not be asked, or refused the card (a blocked
                card: its text is shown, lending waits).
        """

    def link(self, card_key: str, institution_id: str, patron_number: str) -> None:
        """Link ``patron_number`` at ``institution_id`` to the card, once (a first visit).

        Raises:
            LookupError: the link was refused (another number already linked, the number is
                someone else's, a blocked card) or could not be saved; its text is shown.
        """


class InMemoryMemberships:
    """Memberships kept in a dict: for tests and the demo only, until the server answers instead."""

    def __init__(self) -> None:
        self._numbers: dict[tuple[str, str], str] = {}

    def link(self, card_key: str, institution_id: str, patron_number: str) -> None:
        """Record that ``card_key`` is ``patron_number`` at ``institution_id``."""
        self._numbers[(card_key, institution_id)] = patron_number

    def patron_number(self, card_key: str, institution_id: str) -> str | None:
        """The patron number linked to ``card_key`` at ``institution_id``, if any."""
        return self._numbers.get((card_key, institution_id))


class NoMemberships:
    """No card is anyone's yet: the counter app's stand-in until the server's memberships answer.

    The desk still works by patron number (typed, or read off the library's own card).
    """

    def patron_number(self, card_key: str, institution_id: str) -> str | None:
        """Always ``None``: no membership is known on this terminal."""
        return None

    def link(self, card_key: str, institution_id: str, patron_number: str) -> None:
        """Nothing can be linked here.

        Raises:
            LookupError: always.
        """
        raise LookupError(translate(NO_LINKS))


NO_LINKS = N_("Memberships cannot be saved on this terminal: no server is set.")


# May this patron borrow -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Reason:
    """Why a patron may not borrow now: a stable ``code`` and a message id with its fields."""

    code: str
    text: str
    params: dict[str, object] = field(default_factory=dict)

    def message(self, language: str | None = None) -> str:
        """The reason in the desk's language."""
        return translate(self.text, language, **self.params)


NOT_A_PATRON = N_("The library does not know this patron number.")
CARD_LOST = N_("This library card was reported lost. Please ask at the counter.")
CHARGE_DENIED = N_("The library does not lend to this patron just now. Please ask at the counter.")
TOO_MANY_OVERDUE = N_("{count} items are overdue. Please return them before borrowing more.")
FINES_OVER_LIMIT = N_("Unpaid fees of {amount} yen are over the library's limit of {limit} yen.")
TOO_MANY_CHARGED = N_("The loan limit of {limit} items is reached.")


def refusals(status: PatronStatus, information: PatronInformation) -> tuple[Reason, ...]:
    """Every reason the library's answers give for not lending now (empty: may borrow).

    The library's own flags decide; the counts and limits it reports are checked as well, since
    some systems report a limit without raising its flag.
    """
    flags = status.flags | information.flags
    reasons: list[Reason] = []
    if status.valid is False or information.valid is False:
        return (Reason("not_a_patron", NOT_A_PATRON),)
    if "card_lost" in flags:
        reasons.append(Reason("card_lost", CARD_LOST))
    elif "charge_denied" in flags:
        reasons.append(Reason("charge_denied", CHARGE_DENIED))
    limit = information.overdue_limit
    if "too_many_overdue" in flags or (limit is not None and information.overdue_count > limit):
        reasons.append(Reason("too_many_overdue", TOO_MANY_OVERDUE, {"count": information.overdue_count}))
    fees = information.fee_amount if information.fee_amount is not None else status.fee_amount
    fee_limit = information.fee_limit
    if {"excessive_fines", "excessive_fees"} & flags or (
        fees is not None and fee_limit is not None and fees > fee_limit
    ):
        reasons.append(
            Reason("fines", FINES_OVER_LIMIT, {"amount": f"{fees or 0:,}", "limit": f"{fee_limit or 0:,}"})
        )
    charged_limit = information.charged_limit
    if "too_many_charged" in flags or (
        charged_limit is not None and information.charged_count >= charged_limit
    ):
        reasons.append(Reason("too_many_charged", TOO_MANY_CHARGED, {"limit": charged_limit or 0}))
    return tuple(reasons)


@dataclass(frozen=True, slots=True)
class Standing:
    """A patron as the desk shows them: the library's answers and whether they may borrow."""

    patron_id: str
    status: PatronStatus
    information: PatronInformation
    reasons: tuple[Reason, ...]

    @property
    def may_borrow(self) -> bool:
        """True when the library's answers give no reason against lending."""
        return not self.reasons

    @property
    def name(self) -> str:
        """The patron's name as the library sent it: for the screen, never stored or logged."""
        return self.information.name or self.status.name


# Lending and returning ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Lending:
    """What became of each scanned barcode: lent, refused by the library, unknown, or not tried.

    ``unsettled`` were sent when the library went quiet: it may have recorded them. ``not_lent``
    were never sent. ``error`` is the fault that stopped the lending, if one did.
    """

    patron_id: str
    lent: tuple[Loan, ...] = ()
    refused: tuple[Loan, ...] = ()
    unsettled: tuple[str, ...] = ()
    not_lent: tuple[str, ...] = ()
    error: LibraryError | None = None

    @property
    def complete(self) -> bool:
        """True when the library answered for every barcode (lent or refused)."""
        return self.error is None


@dataclass(frozen=True, slots=True)
class Returning:
    """What became of each returned barcode, in the same four parts as :class:`Lending`."""

    returned: tuple[Return, ...] = ()
    refused: tuple[Return, ...] = ()
    unsettled: tuple[str, ...] = ()
    not_returned: tuple[str, ...] = ()
    error: LibraryError | None = None

    @property
    def complete(self) -> bool:
        """True when the library answered for every barcode."""
        return self.error is None


def _unique(barcodes: Iterable[str]) -> list[str]:
    """The barcodes in scanning order, each once (a book scanned twice is lent once)."""
    return list(dict.fromkeys(code.strip() for code in barcodes if code.strip()))


def mask_patron(patron_id: str, shown: int = 4) -> str:
    """The patron number with all but its last ``shown`` characters masked, for paper."""
    return "*" * max(len(patron_id) - shown, 0) + patron_id[-shown:]


class LibraryDesk:
    """One library's desk: a SIP2 client to its system and the memberships of its patrons."""

    def __init__(self, client: Sip2Client, memberships: MembershipLookup, *, terminal_id: str = "") -> None:
        self.client = client
        self.memberships = memberships
        self.terminal_id = terminal_id
        #: The server's name of the library, once :meth:`own_name` asked it (the slip prints it too).
        self.server_name = ""

    @property
    def institution_id(self) -> str:
        """The library's institution id (``AO``)."""
        return self.client.system.institution_id

    @property
    def library_name(self) -> str:
        """The library's name, for the screen and the slip."""
        return self.client.system.name or self.institution_id

    def own_name(self) -> str:
        """The library's own name: the server's (the issuer of the token), else the SIP2 system's.

        Memberships that know no issuer (in memory, none) leave the SIP2 system's name.

        Raises:
            LookupError: the server could not be asked for it.
        """
        issuer_name = getattr(self.memberships, "issuer_name", None)
        self.server_name = str(issuer_name()) if callable(issuer_name) else ""
        return self.server_name or self.library_name

    def patron_for_card(self, card_key: str) -> str | None:
        """This library's patron number for a tapped card, or ``None`` if the card is not a member."""
        return self.memberships.patron_number(card_key, self.institution_id)

    def first_visit(self, card_key: str, patron_id: str) -> Standing:
        """Link the resident's existing library card to the tapped card, once, after the library knows it.

        The library is asked first (patron status and information over SIP2); a number it does not
        know is not linked (the standing says ``not_a_patron``). Then the link is saved (the server),
        and afterwards the card alone finds the patron here.

        Raises:
            LibraryError: the library could not be asked (nothing was linked).
            LookupError: the link was refused or could not be saved (the standing is not shown).
        """
        standing = self.standing(patron_id)
        if any(reason.code == "not_a_patron" for reason in standing.reasons):
            return standing
        self.memberships.link(card_key, self.institution_id, patron_id)
        return standing

    def standing(self, patron_id: str) -> Standing:
        """Ask the library about a patron (patron status, then patron information).

        Raises:
            LibraryError: the library could not be asked (nothing was changed).
        """
        status = self.client.patron_status(patron_id)
        information = self.client.patron_information(patron_id)
        return Standing(patron_id, status, information, refusals(status, information))

    def lend(self, patron_id: str, barcodes: Iterable[str]) -> Lending:
        """Check the barcodes out to the patron one by one; stops at the first fault, saying where.

        Call after :meth:`standing` said ``may_borrow``: the library refuses anyway, item by item.
        """
        codes = _unique(barcodes)
        lent: list[Loan] = []
        refused: list[Loan] = []
        for index, barcode in enumerate(codes):
            try:
                loan = self.client.checkout(patron_id, barcode)
            except LibraryError as error:
                rest = tuple(codes[index + 1 :])
                unsettled, not_lent = ((barcode,), rest) if error.maybe_done else ((), (barcode, *rest))
                return Lending(patron_id, tuple(lent), tuple(refused), unsettled, not_lent, error)
            (lent if loan.ok else refused).append(loan)
        return Lending(patron_id, tuple(lent), tuple(refused))

    def give_back(self, barcodes: Iterable[str]) -> Returning:
        """Check the barcodes in one by one; stops at the first fault, saying where."""
        codes = _unique(barcodes)
        returned: list[Return] = []
        refused: list[Return] = []
        for index, barcode in enumerate(codes):
            try:
                answer = self.client.checkin(barcode)
            except LibraryError as error:
                rest = tuple(codes[index + 1 :])
                unsettled, not_done = ((barcode,), rest) if error.maybe_done else ((), (barcode, *rest))
                return Returning(tuple(returned), tuple(refused), unsettled, not_done, error)
            (returned if answer.ok else refused).append(answer)
        return Returning(tuple(returned), tuple(refused))

    def slip(self, lending: Lending, printed_at: dt.datetime) -> LendingSlip:
        """The lending slip (貸出票) for the receipt printer: titles, barcodes, due dates; no name."""
        return LendingSlip(
            library_name=self.server_name or self.library_name,
            printed_at=printed_at,
            patron_hint=mask_patron(lending.patron_id),
            items=tuple(
                LentItem(loan.title, loan.item_id, loan.due_date, loan.due_text) for loan in lending.lent
            ),
            not_lent=tuple(loan.item_id for loan in lending.refused) + lending.not_lent,
            unsettled=lending.unsettled,
            terminal_id=self.terminal_id,
        )
