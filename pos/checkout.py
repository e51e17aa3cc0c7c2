"""The sale in progress (買い物かご) and its tenders, checked before anything is written.

:class:`Basket` holds item lines; :class:`Checkout` holds the card's balances and the tenders
(points per program, tickets, cash) and knows what the counter may offer: points only of
programs this shop accepts and the card is eligible for, up to the amount due and the balance
(and offline only up to the program's offline limit); tickets verified by signature, expiry
and the terminal's own used list; the PIN above a program's no-PIN limit. What each tender
covers and the change are :mod:`points.tender`'s, the function the server applies the sale
with, so the counter never promises what the server refuses. Every refusal is a
:class:`TenderRefused` whose message is an English id for :func:`pos.i18n._`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from points import calendar, tender, tickets
from points.discounts import Discount, DiscountError
from points.programs import Program, TenderKind
from points.tax import Line, TaxRate, discounted_totals, totals_by_rate
from points.wire import (
    CardLookup,
    ExternalKind,
    ExternalTender,
    PinProof,
    PointTender,
    RateAmount,
    SaleRequest,
    TerminalConfig,
    TicketTender,
)


class TenderRefused(ValueError):
    """A tender the counter will not take; ``message`` is an English msgid, ``args_`` fill it."""

    def __init__(self, code: str, message: str, **values: object) -> None:
        super().__init__(message.format(**values))
        self.code = code
        self.message = message
        self.values = values

    def text(self) -> str:
        """The message in the current language."""
        from pos.i18n import _

        return _(self.message).format(**self.values)


class _ProgramName:
    """A program's name in the language of the moment it is shown (a refusal is worded later)."""

    def __init__(self, program: Program) -> None:
        self.program = program

    def __format__(self, spec: str) -> str:
        from pos.i18n import language

        return format(self.program.display_name(language()), spec)

    def __str__(self) -> str:
        return format(self, "")


@dataclass
class Basket:
    """Item lines of the sale in progress and a subtotal discount; prices are tax-inclusive (総額表示).

    A line discount (値引・割引・見切り) lowers its line at the line's rate; the subtotal discount
    (小計値引) is spread over the rates by :func:`points.tax.discounted_totals` when the totals are
    sent, the same rule the receipt's tax uses.
    """

    lines: list[Line] = field(default_factory=list)
    #: Yen off the whole sale (小計値引), and the receipt's word for it.
    subtotal_discount: int = 0
    subtotal_label: str = ""
    #: The journal id once the sale is written (from then on it is never rung up again as new).
    written_as: str | None = None

    def add(
        self,
        unit_price: int,
        quantity: int = 1,
        rate: TaxRate = TaxRate.STANDARD,
        name: str = "",
        code: str = "",
    ) -> Line:
        """Add a line (``name`` defaults to 「商品」 with the rate)."""
        line = Line(
            name or ("食品" if rate is TaxRate.REDUCED else "商品"), unit_price, quantity, rate, code=code
        )
        self.lines.append(line)
        self._keep_subtotal_discount()
        return line

    def remove_last(self) -> Line | None:
        """Take back the last line (a mistyped amount); a subtotal discount goes with any line."""
        line = self.lines.pop() if self.lines else None
        if line is not None:
            self.subtotal_discount, self.subtotal_label = 0, ""
        return line

    def discount_last(self, discount: Discount) -> Line:
        """Give a discount on the last line (replacing one it had).

        Raises:
            DiscountError: no line yet, or more than the line's amount.
        """
        if not self.lines:
            raise DiscountError("no line to discount")
        line = self.lines[-1]
        off = discount.off(line.gross)
        if off == 0:
            raise DiscountError("the discount rounds to nothing")
        self.lines[-1] = Line(
            line.name, line.unit_price, line.quantity, line.rate, off, discount.label, line.code
        )
        self.subtotal_discount, self.subtotal_label = 0, ""
        return self.lines[-1]

    def discount_subtotal(self, discount: Discount) -> int:
        """Give a discount on the whole sale (replacing one it had); returns the yen off.

        Raises:
            DiscountError: no lines, or more than the subtotal.
        """
        if not self.lines:
            raise DiscountError("no line to discount")
        off = discount.off(self.items_total)
        if off == 0:
            raise DiscountError("the discount rounds to nothing")
        self.subtotal_discount, self.subtotal_label = off, "小計" + discount.label
        return off

    def _keep_subtotal_discount(self) -> None:
        # A subtotal discount was given on the lines then present: a new line ends it, as a
        # register's 小計 key does (press it again after the last item).
        self.subtotal_discount, self.subtotal_label = 0, ""

    @property
    def items_total(self) -> int:
        """The lines' total after line discounts (小計), before the subtotal discount."""
        return sum(line.amount for line in self.lines)

    @property
    def total(self) -> int:
        """The tax-inclusive total the customer pays before points (after all shop discounts)."""
        return self.items_total - self.subtotal_discount

    def totals(self) -> list[RateAmount]:
        """Totals per rate for the wire (10 % first), after the subtotal discount."""
        by_rate = discounted_totals(totals_by_rate(self.lines), self.subtotal_discount)
        return [
            RateAmount(rate=rate, amount=amount) for rate, amount in sorted(by_rate.items(), reverse=True)
        ]


@dataclass(frozen=True)
class ScannedTicket:
    """A scanned ticket checked at the counter (what it pays depends on the other tenders)."""

    text: str
    ticket: tickets.PointTicket
    program: Program

    @property
    def offer(self) -> tender.TicketOffer:
        """The ticket as the tender rule sees it."""
        return tender.TicketOffer(self.ticket.value, tender.gives_change(self.program))


@dataclass(frozen=True)
class TicketInHand:
    """A scanned ticket checked at the counter, and what it pays on this sale."""

    text: str
    ticket: tickets.PointTicket
    program: Program
    applied: int

    @property
    def lost(self) -> int:
        """Value lost because the program gives no change."""
        return self.ticket.value - self.applied


_BLOCKED: dict[int, tuple[TerminalConfig, frozenset[str]]] = {}


def blocked_keys(config: TerminalConfig) -> frozenset[str]:
    """The configuration's block list as a set (made once per configuration: it may hold 100,000 keys)."""
    cached = _BLOCKED.get(id(config))
    if cached is None or cached[0] is not config:
        _BLOCKED.clear()
        cached = _BLOCKED[id(config)] = (config, frozenset(config.blocked_keys))
    return cached[1]


@dataclass
class Checkout:
    """Tenders for one basket; all amounts are ``int`` yen/points."""

    config: TerminalConfig
    basket: Basket
    online: bool = True
    #: The business date (Japan time, whatever the terminal's clock zone): expiry, eligibility.
    today: dt.date = field(default_factory=calendar.today)
    card: CardLookup | None = None
    points: dict[str, int] = field(default_factory=dict)
    scanned: list[ScannedTicket] = field(default_factory=list)
    cash: int = 0
    #: Other tenders (credit, QR, IC) the shop's own terminals charged, in the order given.
    external: list[ExternalTender] = field(default_factory=list)

    @property
    def programs(self) -> dict[str, Program]:
        """The programs in the terminal config, by id."""
        return {program.id: program for program in self.config.programs}

    @property
    def card_blocked(self) -> bool:
        """Is the card on the block list of the terminal's configuration (a lost card, a revoked certificate)?

        Online the server refuses a blocked card at once; offline this list, as fresh as the last
        configuration fetch, is what refuses it.
        """
        return self.card is not None and self.card.card_key in blocked_keys(self.config)

    @property
    def total(self) -> int:
        """The basket's total."""
        return self.basket.total

    def cover(
        self, points: dict[str, int] | None = None, scanned: list[ScannedTicket] | None = None
    ) -> tender.Cover:
        """What points and tickets cover (of these tenders, or the ones given instead).

        Raises:
            TenderRefused: the tenders break the tender rule (its code is the server's).
        """
        points = self.points if points is None else points
        scanned = self.scanned if scanned is None else scanned
        try:
            return tender.cover(self.total, points.values(), [t.offer for t in scanned])
        except tender.TenderError as error:
            raise _refusal(error) from None

    @property
    def tickets(self) -> list[TicketInHand]:
        """The scanned tickets, in order, with what each pays on this sale."""
        covers = self.cover().tickets
        return [
            TicketInHand(text=t.text, ticket=t.ticket, program=t.program, applied=c.applied)
            for t, c in zip(self.scanned, covers, strict=True)
        ]

    @property
    def covered(self) -> int:
        """What points and tickets cover of the total (never more than the total)."""
        return self.total - self.remainder

    @property
    def remainder(self) -> int:
        """What is left to pay after points and tickets (to be paid in cash)."""
        return self.cover().due

    @property
    def external_total(self) -> int:
        """What other tenders (credit, QR, IC) pay."""
        return sum(t.amount for t in self.external)

    @property
    def cash_due(self) -> int:
        """What is left to pay in cash after points, tickets and other tenders."""
        return max(self.remainder - self.external_total, 0)

    @property
    def change(self) -> int:
        """お釣り: cash beyond the remainder, plus a change-giving ticket's excess (0 while unpaid)."""
        covered = self.cover()
        if self.external_total > covered.due or self.cash < covered.due - self.external_total:
            return 0
        return covered.change(self.cash, self.external_total)

    @property
    def complete(self) -> bool:
        """True when the tenders cover the total."""
        return self.total > 0 and self.external_total <= self.remainder and self.cash >= self.cash_due

    def add_external(self, kind: ExternalKind, amount: int | None = None) -> ExternalTender:
        """Record another tender (credit, QR, IC); ``None`` pays all that is left for cash.

        Raises:
            TenderRefused: nothing is left to pay, or more than is left (a card gives no change).
        """
        amount = self.cash_due if amount is None else amount
        if amount <= 0 or self.cash_due == 0:
            raise TenderRefused("ticket_not_needed", "Nothing left to pay.")
        if amount > self.cash_due:
            raise TenderRefused("external_exceeds_due", "Card, QR and IC payments exceed the amount due.")
        tendered = ExternalTender(kind=kind, amount=amount)
        self.external.append(tendered)
        return tendered

    # Points --------------------------------------------------------------------------

    def accepted(self, program: Program) -> bool:
        """True when this shop takes the program."""
        merchant = self.config.merchant
        return program.accepted_by.accepts(merchant.id, merchant.category)

    def balance(self, program_id: str) -> int:
        """The card's balance in a program (0 without a card)."""
        if self.card is None:
            return 0
        return sum(b.points for b in self.card.balances if b.program_id == program_id)

    def offer_order(self) -> list[Program]:
        """Programs the card holds points of, accepted here, soonest-expiring first."""
        balances = self.card.balances if self.card else []
        held = {p.id: p for p in self.config.programs if self.balance(p.id) > 0 and self.accepted(p)}
        soonest = {
            pid: min(
                (lot.expires_on for b in balances if b.program_id == pid for lot in b.expiring), default=None
            )
            for pid in held
        }
        return [held[pid] for pid in tender.offer_order(soonest)]

    def why_not(self, program: Program) -> TenderRefused | None:
        """Why the program's points cannot be used now, or ``None`` when they can."""
        if self.card is None:
            return TenderRefused("no_card", "Tap the card first.")
        if self.card_blocked:
            return TenderRefused(
                "card_blocked", "This card is blocked. The resident should go to the city desk."
            )
        if not self.accepted(program):
            return TenderRefused(
                "not_accepted", "This shop does not take {name}.", name=_ProgramName(program)
            )
        if program.eligibility_tag is not None:
            tags = {t.tag for t in self.card.eligibility if t.valid_until >= self.today}
            if program.eligibility_tag not in tags:
                return TenderRefused(
                    "not_eligible", "This card is not eligible for {name}.", name=_ProgramName(program)
                )
        if not self.online and program.offline_limit == 0:
            return TenderRefused("offline_points", "Points cannot be used while the server is offline.")
        return None

    def max_points(self, program_id: str) -> int:
        """The most points of a program this sale can take now."""
        program = self.programs[program_id]
        if self.why_not(program) is not None:
            return 0
        # Room only while something is due: more points would make a ticket's loss larger than
        # the shopkeeper confirmed, or a scanned ticket not needed at all.
        # Other tenders already charged keep their share: points never push them past what is due.
        room = max(self.remainder + self.points.get(program_id, 0) - self.external_total, 0)
        limit = min(self.balance(program_id), room)
        if not self.online:
            limit = min(limit, program.offline_limit)
        return limit

    def use_points(self, program_id: str, points: int) -> None:
        """Set the points of a program on this sale (0 removes them).

        Raises:
            TenderRefused: the program cannot be used, or too many points.
        """
        program = self.programs.get(program_id)
        if program is None:
            raise TenderRefused("unknown_program", "Unknown program.")
        if points == 0:
            self.points.pop(program_id, None)
            return
        reason = self.why_not(program)
        if reason is not None:
            raise reason
        if points < 0:
            raise TenderRefused("bad_amount", "Enter a whole number of points.")
        if points > self.balance(program_id):
            raise TenderRefused(
                "insufficient_balance",
                "Not enough points (balance {balance:,} pt).",
                balance=self.balance(program_id),
            )
        if points > self.max_points(program_id):
            if not self.online:
                raise TenderRefused(
                    "offline_limit", "Offline, at most {limit:,} pt.", limit=program.offline_limit
                )
            raise TenderRefused("points_exceed_total", "More points than the amount due.")
        self.points[program_id] = points

    def needs_pin(self) -> bool:
        """True when a program's points exceed its no-PIN limit (the card must sign)."""
        return any(points > self.programs[pid].no_pin_limit for pid, points in self.points.items())

    # Tickets -------------------------------------------------------------------------

    def ticket_keys(self) -> dict[str, object]:
        """The ticket public keys from the terminal config."""
        return {kid: tickets.public_key_from_text(text) for kid, text in self.config.ticket_keys.items()}

    def add_ticket(self, text: str, used_here: bool = False, *, accept_loss: bool = False) -> TicketInHand:
        """Check a scanned ticket's text and add it.

        Args:
            text: the QR text as scanned.
            used_here: the terminal's used list already has its serial.
            accept_loss: the shopkeeper confirmed that a no-change ticket's excess is lost.

        Raises:
            TenderRefused: garbled, forged, expired, used, not accepted, not needed (nothing is
                due), or a no-change ticket worth more than due without ``accept_loss``.
        """
        try:
            ticket = tickets.verify(text, self.ticket_keys(), self.today)  # type: ignore[arg-type]
        except tickets.TicketExpired:
            raise TenderRefused("ticket_expired", "This ticket has expired.") from None
        except tickets.TicketError as exc:
            raise TenderRefused(exc.code, "This is not a valid ticket.") from None
        if used_here or any(t.ticket.serial == ticket.serial for t in self.scanned):
            raise TenderRefused("ticket_used", "This ticket has already been used.")
        program = self.programs.get(ticket.program_id)
        if program is None or not self.accepted(program):
            raise TenderRefused("not_accepted", "This shop does not take this ticket.")
        held = ScannedTicket(text=text.strip().upper(), ticket=ticket, program=program)
        scanned = [*self.scanned, held]
        applied = self.cover(scanned=scanned).tickets[-1]
        if applied.lost and not accept_loss:
            raise TenderRefused(
                "ticket_loss", "No change: {lost:,} yen of this ticket will be lost.", lost=applied.lost
            )
        self.scanned = scanned
        return self.tickets[-1]

    # The request ---------------------------------------------------------------------

    def discount(self) -> int:
        """Points and tickets of discount programs (they lower the taxable amount)."""
        programs = self.programs
        return sum(
            p for pid, p in self.points.items() if programs[pid].tender_kind is TenderKind.DISCOUNT
        ) + sum(t.applied for t in self.tickets if t.program.tender_kind is TenderKind.DISCOUNT)

    def award_programs(self) -> list[str]:
        """Programs that award points on this purchase (percent rules), when an unblocked card is present."""
        if self.card is None or self.card_blocked:
            return []
        return [
            p.id
            for p in self.config.programs
            if p.award_rule is not None and p.award_rule.kind == "percent" and self.accepted(p)
        ]

    def request(
        self, sale_id: str, receipt_no: int, now: dt.datetime, pin_proof: PinProof | None = None
    ) -> SaleRequest:
        """The wire request for this sale (totals per rate only: item lines stay in the journal)."""
        self.cover()  # refuses tenders that break the rule, with the server's code
        if not self.complete:
            raise TenderRefused("underpaid", "The tenders do not cover the total.")
        return SaleRequest(
            sale_id=sale_id,
            terminal_time=now,
            receipt_no=receipt_no,
            card_key=self.card.card_key if self.card and (self.points or self.award_programs()) else None,
            totals=self.basket.totals(),
            points=[PointTender(program_id=pid, points=p) for pid, p in self.points.items()],
            tickets=[TicketTender(text=t.text) for t in self.scanned],
            cash=self.cash,
            external=list(self.external),
            award_programs=self.award_programs(),
            pin_proof=pin_proof,
            offline=not self.online,
        )


_MESSAGES = {
    "points_exceed_total": "More points than the amount due.",
    "ticket_not_needed": "Nothing left to pay.",
    "underpaid": "The tenders do not cover the total.",
    "external_exceeds_due": "Card, QR and IC payments exceed the amount due.",
}


def _refusal(error: tender.TenderError) -> TenderRefused:
    """The counter's words for a refusal of the tender rule (the code stays the server's)."""
    return TenderRefused(error.code, _MESSAGES.get(error.code, "The tenders do not cover the total."))
