"""Returns (返品) of part of a sale: what may be returned, how it is refunded, what awards go back.

The counter checks a return with these rules before it asks the server, and the server applies
them again; both call this module, so the rule lives once:

- a return names tax-inclusive amounts per rate; with every earlier return of the same sale
  they never exceed the sale's total of that rate (the server knows totals per rate only);
- the refund adds up to the returned amount exactly: points back to the card per program (never
  more than the sale redeemed in that program, less what earlier returns gave back), other
  tenders back by kind, the rest as cash from the drawer;
- points the sale awarded are taken back in proportion to the yen returned, counted over all the
  sale's returns together and rounded down once: after returns of ``r`` yen of a sale of ``t``
  yen that awarded ``a`` points, ``floor(a * r / t)`` points have been taken back in all. The
  resident keeps the fraction until the last yen is returned, and a whole return takes back
  every point, whatever the order of the partial ones.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from points.money import check_amount


class ReturnError(ValueError):
    """A return the rules refuse; ``code`` is the server's stable error code for it."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class SaleSide:
    """What a sale was, and what its earlier returns already took back.

    ``totals`` and ``returned`` are yen per tax rate (``totals`` empty when only the sale's
    ``total`` is known: a sale stored before totals per rate were kept is bounded by its total);
    ``points`` and ``points_refunded`` points per program; ``awards`` the points awarded per program.
    """

    total: int
    totals: Mapping[int, int]
    points: Mapping[str, int]
    awards: Mapping[str, int]
    returned: Mapping[int, int]
    points_refunded: Mapping[str, int]

    @property
    def returned_total(self) -> int:
        """Yen given back by earlier returns."""
        return sum(self.returned.values())

    def returnable(self, rate: int) -> int:
        """Yen of ``rate`` not yet returned (of the whole sale, when its rates are not known)."""
        left = self.total - self.returned_total
        if not self.totals:
            return left
        return min(left, self.totals.get(rate, 0) - self.returned.get(rate, 0))

    def refundable_points(self, program_id: str) -> int:
        """Points of ``program_id`` the sale redeemed and no return gave back yet."""
        return self.points.get(program_id, 0) - self.points_refunded.get(program_id, 0)


def check_return(
    sale: SaleSide, amounts: Mapping[int, int], points: Mapping[str, int], other: int, cash: int
) -> int:
    """Check a return against its sale; returns the yen returned.

    Args:
        sale: the sale and its earlier returns.
        amounts: yen returned per tax rate.
        points: points refunded to the card per program.
        other: yen refunded through other tenders (credit, QR, IC), all kinds together.
        cash: yen refunded from the drawer.

    Raises:
        ReturnError: ``return_empty``, ``return_exceeds_sale`` (a rate beyond what is left),
            ``refund_points_exceed_sale`` (points beyond what the sale redeemed, less earlier
            refunds) or ``refund_mismatch`` (the refund does not add up to the returned yen).
    """
    for value in (*amounts.values(), *points.values(), other, cash):
        check_amount(value)
    returned = sum(amounts.values())
    if returned == 0:
        raise ReturnError("return_empty", "a return gives back at least one yen")
    if returned > sale.total - sale.returned_total:
        raise ReturnError(
            "return_exceeds_sale", f"{returned} yen but only {sale.total - sale.returned_total} are left"
        )
    for rate, amount in amounts.items():
        left = sale.returnable(rate)
        if amount > left:
            raise ReturnError(
                "return_exceeds_sale", f"{amount} yen at {rate}% but only {left} of the sale are left"
            )
    for program_id, refund in points.items():
        left = sale.refundable_points(program_id)
        if refund > left:
            raise ReturnError(
                "refund_points_exceed_sale",
                f"{refund} points of {program_id} but the sale has only {left} left to give back",
            )
    refunded = sum(points.values()) + other + cash
    if refunded != returned:
        raise ReturnError("refund_mismatch", f"the refund is {refunded} yen but {returned} yen are returned")
    return returned


def award_taken_back(awarded: int, sale_total: int, returned_before: int, returned_now: int) -> int:
    """Points of an award taken back by a return of ``returned_now`` yen (the one rounding).

    The award is taken back in proportion over all the sale's returns together, rounded down
    once: this return takes what the running total reaches now less what earlier returns took.
    """
    for value in (awarded, sale_total, returned_before, returned_now):
        check_amount(value)
    if sale_total == 0:
        return 0
    after = min(returned_before + returned_now, sale_total)
    before = min(returned_before, sale_total)
    return awarded * after // sale_total - awarded * before // sale_total


def points_back(sale: SaleSide, program_id: str, returned_now: int) -> int:
    """The points of ``program_id`` the counter proposes to give back for ``returned_now`` yen.

    In proportion to the yen returned, over all the sale's returns together and rounded down
    once (as awards are taken back), never more than is left to give back: a sale paid half in
    points gives back half of each return in points, and its last return gives back the rest.
    """
    return share_back(
        sale, sale.points.get(program_id, 0), sale.points_refunded.get(program_id, 0), returned_now
    )


def share_back(sale: SaleSide, paid: int, refunded: int, returned_now: int) -> int:
    """What one tender of the sale (``paid``, of which earlier returns gave back ``refunded``)
    gives back for ``returned_now`` yen: the rule of :func:`points_back`, for points of a program
    or yen of another tender (credit, QR, IC) alike."""
    check_amount(returned_now)
    if sale.total == 0 or paid == 0:
        return 0
    after = min(sale.returned_total + returned_now, sale.total)
    due = paid * after // sale.total - refunded
    return max(0, min(due, paid - refunded, returned_now))
