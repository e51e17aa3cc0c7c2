"""A return (返品) at the counter, before it is sent: which sale, what part, how it is refunded.

The rules are :mod:`points.returns`' (the server applies the same ones): this module reads the
sale and its earlier returns out of the journal, turns chosen item lines into yen per rate,
proposes the refund (points back in proportion to what the sale paid in points, other tenders
such as credit or QR back by kind in proportion to what they paid, the rest in cash) and checks
the whole before :meth:`pos.counter.Counter.return_sale` writes and sends it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from points import returns as rules
from points.tax import Line
from points.wire import ExternalKind
from pos.checkout import TenderRefused
from pos.i18n import N_
from pos.journal import Entry, EntryKind, EntryState


class ReturnRefused(TenderRefused):
    """A return the counter refuses before asking the server (shown like a refused tender)."""


class _KindWords:
    """A tender kind in the shopkeeper's words of the moment the refusal is shown."""

    def __init__(self, kind: ExternalKind) -> None:
        self.kind = kind

    def __format__(self, spec: str) -> str:
        from pos.widgets.external import kind_words

        return format(kind_words(self.kind), spec)


def sale_side(sale: Entry, earlier: list[Entry]) -> rules.SaleSide:
    """The sale as :mod:`points.returns` sees it, with what its accepted returns gave back."""
    request = sale.sale_request
    result = sale.sale_result
    returned: dict[int, int] = {}
    refunded: dict[str, int] = {}
    for entry in earlier:
        if entry.kind is not EntryKind.RETURN or entry.state is not EntryState.ACCEPTED:
            continue
        back = entry.return_request
        for line in back.amounts:
            returned[int(line.rate)] = returned.get(int(line.rate), 0) + line.amount
        for tender in back.points:
            refunded[tender.program_id] = refunded.get(tender.program_id, 0) + tender.points
    return rules.SaleSide(
        total=request.total,
        totals={int(t.rate): t.amount for t in request.totals},
        points={p.program_id: p.points for p in request.points},
        awards={a.program_id: a.points for a in result.awards} if result else {},
        returned=returned,
        points_refunded=refunded,
    )


@dataclass
class ReturnPlan:
    """What the shopkeeper is about to give back for one sale.

    ``amounts`` is yen per rate (from the chosen lines, or typed); ``points`` the points going
    back to the card per program; the rest of the returned yen is cash from the drawer.
    """

    sale: Entry
    earlier: list[Entry]
    lines: list[Line] = field(default_factory=list)
    amounts: dict[int, int] = field(default_factory=dict)
    points: dict[str, int] = field(default_factory=dict)
    #: Yen refunded through the sale's other tenders (credit, QR, IC), by kind.
    external: dict[ExternalKind, int] = field(default_factory=dict)
    card_key: str | None = None
    reason: str = ""
    #: Training mode (練習モード): the practice sale was never sent, and neither is its return.
    training: bool = False

    @property
    def side(self) -> rules.SaleSide:
        """The sale and its earlier returns."""
        return sale_side(self.sale, self.earlier)

    @property
    def total(self) -> int:
        """The yen returned."""
        return sum(self.amounts.values())

    @property
    def cash(self) -> int:
        """Yen given back from the drawer: what the points and the other tenders do not cover."""
        return max(0, self.total - sum(self.points.values()) - sum(self.external.values()))

    def external_paid(self) -> dict[ExternalKind, tuple[int, int]]:
        """The sale's other tenders by kind: ``(paid, refunded by earlier returns)``."""
        paid: dict[ExternalKind, int] = {}
        for tender in self.sale.sale_request.external:
            paid[tender.kind] = paid.get(tender.kind, 0) + tender.amount
        refunded: dict[ExternalKind, int] = {}
        for entry in self.earlier:
            if entry.kind is EntryKind.RETURN and entry.state is EntryState.ACCEPTED:
                for tender in entry.return_request.external:
                    refunded[tender.kind] = refunded.get(tender.kind, 0) + tender.amount
        return {kind: (amount, refunded.get(kind, 0)) for kind, amount in paid.items()}

    @property
    def sale_card(self) -> str | None:
        """The card the sale was paid with or earned on (points go back only to it)."""
        return self.sale.sale_request.card_key

    def choose_lines(self, lines: list[Line]) -> None:
        """Return these item lines: yen per rate from their amounts (capped by what is left)."""
        self.lines = list(lines)
        wanted: dict[int, int] = {}
        for line in lines:
            wanted[int(line.rate)] = wanted.get(int(line.rate), 0) + line.amount
        side = self.side
        # A subtotal discount (小計値引) makes the sale's rates smaller than its lines: never ask beyond.
        self.amounts = {rate: min(amount, side.returnable(rate)) for rate, amount in wanted.items() if amount}
        self.propose_points()

    def set_amount(self, rate: int, amount: int) -> None:
        """Return ``amount`` yen at ``rate`` (typed by the shopkeeper; the lines no longer say it)."""
        self.lines = []
        if amount:
            self.amounts[rate] = amount
        else:
            self.amounts.pop(rate, None)
        self.propose_points()

    def propose_points(self) -> None:
        """Points back per program in proportion to what the sale paid in them (see points.returns)."""
        side = self.side
        self.points = {
            program_id: back
            for program_id in side.points
            if (back := rules.points_back(side, program_id, self.total))
        }
        left = self.total - sum(self.points.values())
        self.external = {}
        for kind, (paid, refunded) in self.external_paid().items():
            back = min(rules.share_back(side, paid, refunded, self.total), left)
            if back > 0:
                self.external[kind] = back
                left -= back

    def check(self) -> int:
        """Check the return as the server will; returns the yen returned.

        Raises:
            ReturnRefused: the sale cannot be returned, or not this way.
        """
        if self.sale.voided_at is not None:
            raise ReturnRefused("return_of_voided_sale", N_("This sale was voided: it cannot be returned."))
        sent = (EntryState.ACCEPTED, EntryState.SYNCED)
        if self.sale.state not in sent and not (self.training and self.sale.state is EntryState.OFFLINE):
            raise ReturnRefused("return_unsynced", N_("Send this sale to the server before returning it."))
        if self.points and self.card_key != self.sale_card:
            raise ReturnRefused(
                "return_card_mismatch",
                N_("Touch the card the sale was paid with: points go back only to it."),
            )
        for kind, amount in self.external.items():
            paid, refunded = self.external_paid().get(kind, (0, 0))
            if amount > paid - refunded:
                raise ReturnRefused(
                    "refund_external_exceeds_sale",
                    N_("More back to {kind} than the sale paid with it ({amount:,} yen left)."),
                    kind=_KindWords(kind),
                    amount=paid - refunded,
                )
        try:
            return rules.check_return(
                self.side, self.amounts, self.points, sum(self.external.values()), self.cash
            )
        except rules.ReturnError as error:
            from pos.sync import REFUSALS

            msgid = REFUSALS.get(error.code, (0, "The server refused the request."))[1]
            raise ReturnRefused(error.code, msgid) from None
