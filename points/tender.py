"""Tender arithmetic (支払の計算): what points, tickets and cash each cover, and the change.

One rule, used by the counter before it sends a sale and by the server when it applies one;
all amounts are ``int`` yen (1 pt = 1 yen).

1. **Points are drawn first.** Points of all programs together never exceed the total
   (``points_exceed_total``); points never give change. The counter offers a card's programs
   soonest-expiring first (:func:`offer_order`); within a program the server spends the
   earliest-expiring lot first.
2. **Tickets then pay, in the order they were scanned.** A ticket is taken only while something
   is still due after points and the tickets before it (``ticket_not_needed``).
   - A **no-change ticket** (お釣りの出ない券: the program gives no change, or is a discount)
     pays at most what is still due; the rest of its face value is lost to the resident, and the
     counter asks the shopkeeper to confirm that loss before it takes the ticket.
   - A **change-giving ticket** (お釣りの出る券: a payment program with ``change_allowed``) worth
     more than what is still due pays the whole due, and its excess is handed back as cash change
     from the till, as a shopkeeper does with a 1,000-yen gift certificate for a 700-yen loaf.
     It is taken at face value, never refused: giving change is what the program promises.
   In both cases the merchant is credited the ticket's face value (as with paper vouchers).
3. **Other tenders, then cash, pay the rest.** Credit, QR (PayPay …) and 交通系 IC are recorded
   by kind and amount (the shop's own terminal charged them): together they pay at most what is
   still due (``external_exceeds_due``: a card charge never gives change). Cash must cover what
   is left after them (``underpaid``); the change is the cash beyond it plus a change-giving
   ticket's excess. Other tenders are the shop's own money: no claim ever counts them.

Sale awards (a program's percent rule) are computed on what the resident paid beyond points and
tickets (:attr:`Cover.due`). The codes of :class:`TenderError` are the server's error codes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from points.programs import Program, TenderKind


class TenderError(ValueError):
    """Tenders that break the rule; ``code`` is the server's error code for it."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code


def gives_change(program: Program) -> bool:
    """True when the program's tickets give change: a payment program with ``change_allowed``.

    A discount program's ticket never does: a discount lowers a price, it cannot exceed it.
    """
    return program.change_allowed and program.tender_kind is TenderKind.PAYMENT


@dataclass(frozen=True, slots=True)
class TicketOffer:
    """A ticket tendered: its face value and whether its program gives change."""

    value: int
    gives_change: bool


@dataclass(frozen=True, slots=True)
class TicketCover:
    """What one ticket does on a sale: ``applied`` is credited (face value, unless value is lost)."""

    value: int
    gives_change: bool
    applied: int

    @property
    def lost(self) -> int:
        """Face value the resident loses because the ticket gives no change."""
        return self.value - self.applied


@dataclass(frozen=True, slots=True)
class Cover:
    """What points and tickets cover of a total, before cash."""

    total: int
    points: int
    tickets: tuple[TicketCover, ...]

    @property
    def left(self) -> int:
        """The total less points and tickets; below zero by a change-giving ticket's excess."""
        return self.total - self.points - sum(t.applied for t in self.tickets)

    @property
    def due(self) -> int:
        """Cash still due; also what the resident paid beyond points and tickets (the award base)."""
        return max(self.left, 0)

    @property
    def ticket_change(self) -> int:
        """Change a change-giving ticket's excess puts back in the resident's hand."""
        return max(-self.left, 0)

    def take(self, ticket: TicketOffer) -> Cover:
        """This cover with one more ticket, scanned after the others.

        Raises:
            TenderError: ``ticket_not_needed`` when nothing is left to pay.
        """
        _check(ticket.value)
        left = self.left
        if left <= 0:
            raise TenderError("ticket_not_needed", f"ticket {len(self.tickets) + 1}: nothing is left to pay")
        applied = ticket.value if ticket.gives_change else min(ticket.value, left)
        return Cover(
            self.total, self.points, (*self.tickets, TicketCover(ticket.value, ticket.gives_change, applied))
        )

    def change(self, cash: int, external: int = 0) -> int:
        """お釣り for ``cash`` tendered after ``external`` (other tenders): cash beyond what is due,
        plus a ticket's excess.

        Raises:
            TenderError: ``external_exceeds_due`` when other tenders pay more than is due,
                ``underpaid`` when cash does not cover what they leave.
        """
        _check(cash)
        _check(external)
        if external > self.due:
            raise TenderError("external_exceeds_due", f"other tenders {external} on {self.due} due")
        if cash < self.due - external:
            raise TenderError("underpaid", f"{self.due - external - cash} yen still due")
        return cash + external - self.left


def _check(amount: int) -> None:
    # Amounts reach here validated (pydantic at the wire, int inputs at the counter); this
    # guards the arithmetic itself against a caller passing a negative.
    if amount < 0:
        raise ValueError(f"amounts are never negative: {amount}")


def cover(total: int, points: int | Iterable[int], tickets: Sequence[TicketOffer]) -> Cover:
    """Apply points, then tickets in order, to ``total`` (see the module docstring).

    Args:
        total: the tax-inclusive total of the sale.
        points: the points of each program tendered (or their sum).
        tickets: the tickets tendered, in the order they were scanned.

    Raises:
        TenderError: ``points_exceed_total`` or ``ticket_not_needed``.
    """
    amounts = [points] if isinstance(points, int) else list(points)
    for amount in (total, *amounts):
        _check(amount)
    drawn = sum(amounts)
    if drawn > total:
        raise TenderError("points_exceed_total", f"{drawn} points on a total of {total}")
    covered = Cover(total, drawn, ())
    for ticket in tickets:
        covered = covered.take(ticket)
    return covered


@dataclass(frozen=True, slots=True)
class Settlement:
    """A sale's tenders that pay it: the cover, the cash and the change."""

    cover: Cover
    cash: int
    change: int
    external: int = 0


def settle(
    total: int, points: int | Iterable[int], tickets: Sequence[TicketOffer], cash: int, external: int = 0
) -> Settlement:
    """The whole verdict on a sale's tenders: :func:`cover`, then other tenders and cash.

    Raises:
        TenderError: ``points_exceed_total``, ``ticket_not_needed``, ``external_exceeds_due`` or
            ``underpaid``.
    """
    covered = cover(total, points, tickets)
    return Settlement(covered, cash, covered.change(cash, external), external)


def offer_order(soonest: Mapping[str, dt.date | None]) -> list[str]:
    """Program ids in the order the counter offers their points: soonest-expiring first, then by id.

    Args:
        soonest: for each program the card holds points of, the day its earliest lot expires
            (``None`` when no lot's expiry is known: offered last).
    """
    return sorted(soonest, key=lambda pid: (soonest[pid] or dt.date.max, pid))
