"""What the printer prints, as plain data: receipts, slips and reports (no bytes, no sockets).

Each document is a frozen dataclass with ``int`` amounts, built from ``points`` types (the shop
is a :class:`points.wire.Merchant`, programs are :class:`points.programs.Program`, item lines are
:class:`points.tax.Line`). Rules come from ``points``: tax per rate is
:func:`points.tax.receipt_tax`, ticket fields come from the signed text through
:func:`points.tickets.decode`. :mod:`printers.layout` turns a document into lines;
:mod:`printers.render` turns lines into ESC/POS bytes.

Every document has ``reprint``: a copy printed again is marked 再発行 (reprint); see :func:`reprint`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import TypeVar

from points import tender, tickets
from points.money import check_amount
from points.programs import Program, TenderKind
from points.tax import Line, RateTotal, Rounding, TaxRate, discounted_totals, receipt_tax, totals_by_rate
from points.wire import Merchant

# Parts of a sale -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PointsUsed:
    """Points of one program used on a sale (payment or discount, as the program says)."""

    program: Program
    points: int

    def __post_init__(self) -> None:
        check_amount(self.points, allow_zero=False)


@dataclass(frozen=True, slots=True)
class TicketUsed:
    """A point ticket used on a sale: its value, and what was applied (less for no-change tickets)."""

    program: Program
    serial: int
    value: int
    applied: int | None = None

    def __post_init__(self) -> None:
        check_amount(self.value, allow_zero=False)
        if not 0 <= self.serial < 10**tickets.SERIAL_DIGITS:
            raise ValueError(f"ticket serial out of range: {self.serial}")
        if self.applied is not None and not 0 <= self.applied <= self.value:
            raise ValueError(f"applied {self.applied} outside 0..{self.value}")

    @property
    def amount(self) -> int:
        """The yen this ticket paid or discounted."""
        return self.value if self.applied is None else self.applied

    @property
    def lost(self) -> int:
        """Value given up because the program gives no change."""
        return self.value - self.amount

    @property
    def gives_change(self) -> bool:
        """True when the ticket's excess over what was due came back as change."""
        return tender.gives_change(self.program)

    @property
    def human_serial(self) -> str:
        """The serial as printed on the ticket, e.g. ``0000-1234-5678-9``."""
        return tickets.format_human_serial(self.serial)


@dataclass(frozen=True, slots=True)
class PointsAwarded:
    """Points a sale or an event awarded, and until when they can be spent."""

    program: Program
    points: int
    expires_on: dt.date | None = None

    def __post_init__(self) -> None:
        check_amount(self.points)


@dataclass(frozen=True, slots=True)
class ExpiringLot:
    """Points that expire together (shown as a warning)."""

    points: int
    expires_on: dt.date

    def __post_init__(self) -> None:
        check_amount(self.points)


@dataclass(frozen=True, slots=True)
class BalanceAfter:
    """A card's balance in one program after the sale, and the lots expiring soon."""

    program: Program
    points: int
    expiring: tuple[ExpiringLot, ...] = ()

    def __post_init__(self) -> None:
        check_amount(self.points)


def _discount_of(points: tuple[PointsUsed, ...], used: tuple[TicketUsed, ...]) -> int:
    """Points and tickets of ``discount`` programs: they lower the taxable amount (see points.tax)."""
    return sum(p.points for p in points if p.program.tender_kind is TenderKind.DISCOUNT) + sum(
        t.amount for t in used if t.program.tender_kind is TenderKind.DISCOUNT
    )


# Receipts ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SaleReceipt:
    """A sale receipt that is a simplified qualified invoice (適格簡易請求書).

    Prices are tax-inclusive. Tenders must cover the total; change comes out of cash, or out of a
    change-giving ticket worth more than what was due.
    """

    merchant: Merchant
    terminal_id: str
    receipt_no: int
    issued_at: dt.datetime
    lines: tuple[Line, ...]
    points: tuple[PointsUsed, ...] = ()
    tickets: tuple[TicketUsed, ...] = ()
    cash: int = 0
    awards: tuple[PointsAwarded, ...] = ()
    balances: tuple[BalanceAfter, ...] = ()
    sale_id: str = ""
    rounding: Rounding = Rounding.FLOOR
    #: Made while the server was unreachable: points shown are provisional until synced.
    offline: bool = False
    #: Offline with a card read for programs that award on this purchase: the points awarded
    #: come with the server's answer (none are printed yet).
    awards_pending: bool = False
    #: Text printed as a QR code at the foot (e.g. the sale id, scanned at the ticket counter).
    qr: str = ""
    reprint: bool = False
    #: Printed in training mode (練習モード): marked on paper, never a real sale.
    training: bool = False
    #: Other tenders (credit, QR, IC) as the receipt words them, with their amounts.
    external: tuple[tuple[str, int], ...] = ()
    #: The shop's discount on the whole sale (小計値引), spread over the rates, and its words.
    subtotal_discount: int = 0
    subtotal_label: str = "小計値引"
    #: The sale was voided since (取消済): a copy printed again says so.
    voided: bool = False

    def __post_init__(self) -> None:
        if not self.lines:
            raise ValueError("a receipt needs at least one item line")
        check_amount(self.subtotal_discount)
        if self.subtotal_discount > self.items_total:
            raise ValueError("the subtotal discount exceeds the items")
        check_amount(self.cash)
        check_amount(self.total)
        if self.discount > self.total:
            raise ValueError("discounts exceed the total")
        # Change comes out of cash, or out of a change-giving ticket's excess (points.tender).
        if not 0 <= self.change <= self.cash + sum(t.amount for t in self.tickets if t.gives_change):
            raise ValueError(f"tenders do not match the amount due (change {self.change}, cash {self.cash})")

    @property
    def items_total(self) -> int:
        """The items after their line discounts (小計), before the subtotal discount."""
        return sum(line.amount for line in self.lines)

    @property
    def total(self) -> int:
        """The tax-inclusive total after the shop's discounts, before points."""
        return self.items_total - self.subtotal_discount

    @property
    def discount(self) -> int:
        """Yen taken off by ``discount`` programs (points and tickets)."""
        return _discount_of(self.points, self.tickets)

    @property
    def due(self) -> int:
        """What is left to pay after discounts (合計)."""
        return self.total - self.discount

    @property
    def paid(self) -> int:
        """Everything tendered that is not a discount: payment points, payment tickets, cash."""
        return (
            sum(p.points for p in self.points)
            + sum(t.amount for t in self.tickets)
            + self.cash
            + sum(amount for _kind, amount in self.external)
            - self.discount
        )

    @property
    def change(self) -> int:
        """お釣り: cash handed back."""
        return self.paid - self.due

    @property
    def tax(self) -> list[RateTotal]:
        """Totals and tax per rate after discounts, from :func:`points.tax.receipt_tax`."""
        # Both discounts reach the rates by the one rule (points.tax.split_discount); the tax is
        # rounded once per rate, at the end.
        after_shop = discounted_totals(totals_by_rate(self.lines), self.subtotal_discount)
        return receipt_tax(after_shop, self.discount, self.rounding)

    @property
    def provisional(self) -> bool:
        """True when an offline sale has points, tickets or awards the server has still to confirm.

        A plain cash sale made offline has nothing to confirm: its receipt carries no such note."""
        return self.offline and bool(self.points or self.tickets or self.awards or self.awards_pending)

    @property
    def has_reduced_rate(self) -> bool:
        """True when an item is taxed at the reduced rate (then the ※ footnote is printed)."""
        return any(line.rate == 8 for line in self.lines)


@dataclass(frozen=True, slots=True)
class VoidReceipt:
    """A receipt for a voided sale (取消): the original's amounts returned, tax per rate negative."""

    original: SaleReceipt
    voided_at: dt.datetime
    reason: str = ""
    reprint: bool = False
    #: Printed in training mode (練習モード): marked on paper, never a real sale.
    training: bool = False


@dataclass(frozen=True, slots=True)
class ReturnReceipt:
    """A return receipt (返品): part of a sale given back, with its own number and the original's.

    ``amounts`` are the yen returned per rate as the server took them (tax-inclusive, before
    points); ``lines`` the item lines returned when the shop chose lines (empty when it typed an
    amount per rate). Tax per rate is computed once per rate on the returned part, less points of
    ``discount`` programs given back (they were a discount, not money), like a sale's; it prints
    negative, as the void receipt's does, so the invoice shows what was taken back.
    """

    original: SaleReceipt
    receipt_no: int
    returned_at: dt.datetime
    amounts: tuple[tuple[TaxRate, int], ...]
    lines: tuple[Line, ...] = ()
    points: tuple[PointsUsed, ...] = ()
    external: tuple[tuple[str, int], ...] = ()
    cash: int = 0
    awards_taken_back: tuple[PointsAwarded, ...] = ()
    balances: tuple[BalanceAfter, ...] = ()
    return_id: str = ""
    reason: str = ""
    reprint: bool = False
    #: Printed in training mode (練習モード): marked on paper, never a real sale.
    training: bool = False

    def __post_init__(self) -> None:
        if not self.amounts:
            raise ValueError("a return gives back at least one rate's amount")
        for _rate, amount in self.amounts:
            check_amount(amount)
        check_amount(self.cash)
        refunded = sum(p.points for p in self.points) + sum(a for _w, a in self.external) + self.cash
        if refunded != self.total:
            raise ValueError(f"the refund ({refunded}) does not add up to the return ({self.total})")

    @property
    def total(self) -> int:
        """The yen returned (tax-inclusive)."""
        return sum(amount for _rate, amount in self.amounts)

    @property
    def discount(self) -> int:
        """Points of ``discount`` programs given back: the part of the return that was a discount."""
        return sum(p.points for p in self.points if p.program.tender_kind is TenderKind.DISCOUNT)

    @property
    def due(self) -> int:
        """The returned amount less the discount given back: what the tax is in (返品合計)."""
        return self.total - self.discount

    @property
    def tax(self) -> list[RateTotal]:
        """Returned amount and tax per rate, 10 % first (one rounding per rate, as on a sale)."""
        return receipt_tax(dict(self.amounts), self.discount, self.original.rounding)

    @property
    def has_reduced_rate(self) -> bool:
        """True when an 8 % amount is returned (the receipt explains the ※ mark)."""
        return any(rate is TaxRate.REDUCED and amount for rate, amount in self.amounts)


@dataclass(frozen=True, slots=True)
class TicketSlip:
    """A point-ticket slip (ポイント券): program, value, expiry, human serial and a QR of the signed text."""

    issuer: Merchant
    program: Program
    text: str
    issued_at: dt.datetime
    terminal_id: str = ""
    reprint: bool = False
    #: Printed in training mode (練習モード): marked on paper, never a real sale.
    training: bool = False

    def __post_init__(self) -> None:
        ticket = tickets.decode(self.text)  # refuses text that is not a ticket
        if ticket.program_id != self.program.id:
            raise ValueError(f"ticket is for {ticket.program_id}, not {self.program.id}")

    @property
    def ticket(self) -> tickets.PointTicket:
        """The ticket's fields, read from its signed text."""
        return tickets.decode(self.text)


@dataclass(frozen=True, slots=True)
class BalanceSlip:
    """A balance slip (残高照会): a card's points per program and what expires soon."""

    merchant: Merchant
    terminal_id: str
    printed_at: dt.datetime
    balances: tuple[BalanceAfter, ...]
    reprint: bool = False
    #: Printed in training mode (練習モード): marked on paper, never a real sale.
    training: bool = False
    #: The resident account's number (8 characters) the resident quotes at the city desk, if any.
    account_number: str | None = None


# Reports -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Tally:
    """A count and a sum of yen or points."""

    count: int = 0
    amount: int = 0

    def __post_init__(self) -> None:
        # No upper bound: a month of a busy shop can pass the per-sale limit of points.money.
        for value in (self.count, self.amount):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"a tally holds non-negative ints, got {value!r}")


@dataclass(frozen=True, slots=True)
class ProgramDay:
    """One program's day at a terminal: card points redeemed, tickets taken, points awarded, and
    the awards taken back by the day's returns (付与取消; the sale may be of another day)."""

    program: Program
    redeemed: Tally = Tally()
    tickets: Tally = Tally()
    awarded: Tally = Tally()
    award_reversed: Tally = Tally()


@dataclass(frozen=True, slots=True)
class EndOfDayReport:
    """The end-of-day report (日計) of one terminal."""

    merchant: Merchant
    terminal_id: str
    business_date: dt.date
    printed_at: dt.datetime
    sales: Tally
    voids: Tally = Tally()
    cash: Tally = Tally()
    change: int = 0
    programs: tuple[ProgramDay, ...] = ()
    #: Sales made while the server was unreachable, and those still not synced.
    offline: int = 0
    unsynced: int = 0
    reprint: bool = False
    #: Printed in training mode (練習モード): marked on paper, never a real sale.
    training: bool = False


@dataclass(frozen=True, slots=True)
class TenderLine:
    """One tender of the day on the X/Z report: its printed name and its count and sum."""

    label: str
    tally: Tally


@dataclass(frozen=True, slots=True)
class DayReport:
    """The X report (点検, read any time) or Z report (精算, closes the day once) of one terminal.

    Sums come from :mod:`points.dayreport`; the drawer part shows the change float (釣銭準備金),
    the cash expected, the count by denomination and 過不足 when cash was counted.
    """

    merchant: Merchant
    terminal_id: str
    business_date: dt.date
    printed_at: dt.datetime
    closing: bool = False
    z_no: int = 0
    sales: Tally = Tally()
    voids: Tally = Tally()
    returns: Tally = Tally()
    rates: tuple[RateTotal, ...] = ()
    tenders: tuple[TenderLine, ...] = ()
    #: What return receipts gave back, per rate (with its tax) and per refund tender.
    return_rates: tuple[RateTotal, ...] = ()
    return_tenders: tuple[TenderLine, ...] = ()
    #: 純売上: sales less returns (``None``: not computed, as before returns were counted).
    net: int | None = None
    programs: tuple[ProgramDay, ...] = ()
    change_float: int = 0
    expected_cash: int = 0
    #: (denomination, pieces) as counted; ``counted`` is ``None`` until the drawer is counted.
    pieces: tuple[tuple[int, int], ...] = ()
    counted: int | None = None
    offline: int = 0
    unsynced: int = 0
    #: Printed in training mode (練習): not a record of real sales.
    training: bool = False
    reprint: bool = False

    @property
    def over_short(self) -> int | None:
        """過不足: counted − expected (``None`` before the count)."""
        return None if self.counted is None else self.counted - self.expected_cash


@dataclass(frozen=True, slots=True)
class StatementLine:
    """One program's line on a merchant's settlement statement."""

    program: Program
    redeemed: Tally = Tally()
    tickets: Tally = Tally()
    voided: Tally = Tally()
    fee: int = 0
    disputed: Tally = Tally()

    @property
    def payable(self) -> int:
        """What is paid for this program: redeemed points and tickets, less voids and the fee."""
        return self.redeemed.amount + self.tickets.amount - self.voided.amount - self.fee


@dataclass(frozen=True, slots=True)
class SettlementStatement:
    """A merchant's settlement statement (明細) for one period."""

    merchant: Merchant
    period: str
    period_start: dt.date
    period_end: dt.date
    issued_at: dt.datetime
    lines: tuple[StatementLine, ...] = ()
    #: Who pays: e.g. "〇〇市" or "〇〇商工会".
    payer: str = ""
    status: str = ""
    reprint: bool = False
    #: Printed in training mode (練習モード): marked on paper, never a real sale.
    training: bool = False
    #: False while the period is open (未締め): nothing is payable yet, so no ¥0 is printed as due.
    closed: bool = True

    @property
    def payable(self) -> int:
        """The total paid to the merchant for the period."""
        return sum(line.payable for line in self.lines)


# Library desk --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LentItem:
    """One item lent at a library desk: its title, barcode and the day it is due back."""

    title: str
    barcode: str
    due_date: dt.date | None
    #: The library's own words for the due date when they are not a date (printed as they came).
    due_text: str = ""


@dataclass(frozen=True, slots=True)
class LendingSlip:
    """A lending slip (貸出票) from a library desk: what was lent today and when each item is due.

    ``patron_hint`` is the patron number with all but its last digits masked: the slip travels in a
    bag and a book, so it names no one. ``unsettled`` are barcodes whose checkout the library may or
    may not have recorded (its answer was lost); ``not_lent`` were never lent.
    """

    library_name: str
    printed_at: dt.datetime
    patron_hint: str
    items: tuple[LentItem, ...]
    not_lent: tuple[str, ...] = ()
    unsettled: tuple[str, ...] = ()
    terminal_id: str = ""
    reprint: bool = False
    #: Printed in training mode (練習モード): marked on paper, never a real loan.
    training: bool = False


Document = (
    SaleReceipt
    | VoidReceipt
    | ReturnReceipt
    | TicketSlip
    | BalanceSlip
    | EndOfDayReport
    | SettlementStatement
    | LendingSlip
)
D = TypeVar(
    "D",
    SaleReceipt,
    VoidReceipt,
    ReturnReceipt,
    TicketSlip,
    BalanceSlip,
    EndOfDayReport,
    SettlementStatement,
    LendingSlip,
)


def reprint(document: D) -> D:
    """The same document marked 再発行 (reprint), e.g. for a receipt printed again from history."""
    return dataclasses.replace(document, reprint=True)


__all__ = [
    "BalanceAfter",
    "BalanceSlip",
    "Document",
    "EndOfDayReport",
    "ExpiringLot",
    "LendingSlip",
    "LentItem",
    "PointsAwarded",
    "PointsUsed",
    "ProgramDay",
    "ReturnReceipt",
    "SaleReceipt",
    "SettlementStatement",
    "StatementLine",
    "Tally",
    "TicketSlip",
    "TicketUsed",
    "VoidReceipt",
    "reprint",
]
