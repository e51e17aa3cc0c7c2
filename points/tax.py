"""Consumption tax on a receipt (消費税): totals and tax per rate, computed once per rate.

Prices are tax-inclusive (総額表示). A simplified qualified invoice (適格簡易請求書) shows, per rate,
the total and the tax, rounded once per rate per receipt, never per item. Points of a
``discount`` program lower the taxable amounts, split across rates in proportion to their
totals; points of a ``payment`` program leave them alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import IntEnum, StrEnum

from points.money import check_amount


class TaxRate(IntEnum):
    """Japanese consumption tax rates in percent."""

    STANDARD = 10
    #: 軽減税率: food and newspapers; marked ※ on receipts.
    REDUCED = 8


class Rounding(StrEnum):
    """How the tax of one rate is rounded to the yen (the shop's choice; floor is usual)."""

    FLOOR = "floor"
    HALF_UP = "half_up"
    CEIL = "ceil"


#: The mark printed beside reduced-rate items (and explained in a footnote).
REDUCED_MARK = "※"


@dataclass(frozen=True, slots=True)
class Line:
    """One item line: a tax-inclusive unit price, a quantity, a rate, and yen off it (値引・見切り).

    ``code`` is the product's JAN code when it was scanned (the shop's journal keeps it; the
    server never sees lines). ``discount_label`` is the receipt's word for ``discount``.
    """

    name: str
    unit_price: int
    quantity: int = 1
    rate: TaxRate = TaxRate.STANDARD
    discount: int = 0
    discount_label: str = ""
    code: str = ""

    def __post_init__(self) -> None:
        check_amount(self.unit_price)
        if not 0 < self.quantity <= 9999:
            raise ValueError(f"quantity out of range: {self.quantity}")
        check_amount(self.discount)
        if self.discount > self.gross:
            raise ValueError(f"discount {self.discount} exceeds the line's {self.gross}")

    @property
    def gross(self) -> int:
        """The line's tax-inclusive amount before its discount."""
        return self.unit_price * self.quantity

    @property
    def amount(self) -> int:
        """The line's tax-inclusive amount after its discount."""
        return self.gross - self.discount


@dataclass(frozen=True, slots=True)
class RateTotal:
    """The tax-inclusive total of one rate after discounts, and the tax in it."""

    rate: TaxRate
    amount: int
    tax: int


def included_tax(amount: int, rate: int, rounding: Rounding = Rounding.FLOOR) -> int:
    """The tax inside a tax-inclusive ``amount`` at ``rate`` percent, rounded once.

    ``amount * rate / (100 + rate)`` in integer arithmetic: 1,100 yen at 10 % holds 100 yen.
    """
    check_amount(amount)
    numerator, denominator = amount * rate, 100 + rate
    if rounding is Rounding.FLOOR:
        return numerator // denominator
    if rounding is Rounding.CEIL:
        return -(-numerator // denominator)
    return (2 * numerator + denominator) // (2 * denominator)


def totals_by_rate(lines: Iterable[Line]) -> dict[TaxRate, int]:
    """Sum tax-inclusive line amounts per rate (rates with no lines are left out)."""
    totals: dict[TaxRate, int] = {}
    for line in lines:
        totals[line.rate] = totals.get(line.rate, 0) + line.amount
    return totals


def split_discount(totals: Mapping[TaxRate, int], discount: int) -> dict[TaxRate, int]:
    """Share a discount across rates in proportion to their totals.

    Each rate gets the floor of its share; the yen left over go one at a time to the rates
    with the largest remainders, ties to the higher rate, so the split is deterministic and
    always sums to ``discount``.

    Raises:
        ValueError: the discount exceeds the receipt total.
    """
    check_amount(discount)
    whole = sum(totals.values())
    if discount > whole:
        raise ValueError(f"discount {discount} exceeds total {whole}")
    if discount == 0 or whole == 0:
        return {rate: 0 for rate in totals}
    shares = {rate: amount * discount // whole for rate, amount in totals.items()}
    remainders = {rate: amount * discount % whole for rate, amount in totals.items()}
    left = discount - sum(shares.values())
    for rate in sorted(totals, key=lambda r: (-remainders[r], -int(r)))[:left]:
        shares[rate] += 1
    return shares


def discounted_totals(totals: Mapping[TaxRate, int], discount: int) -> dict[TaxRate, int]:
    """Totals per rate less a discount spread over them by :func:`split_discount`.

    The one way a discount reaches the rates: a shop's subtotal discount (小計値引) and the points
    of a discount program both go through it, so each rate's amount never goes below zero and
    the amounts always sum to the total less the discount, to the yen.

    Raises:
        ValueError: the discount exceeds the receipt total.
    """
    shares = split_discount(totals, discount)
    return {rate: amount - shares[rate] for rate, amount in totals.items()}


def receipt_tax(
    totals: Mapping[TaxRate, int], discount: int = 0, rounding: Rounding = Rounding.FLOOR
) -> list[RateTotal]:
    """Totals and tax per rate after a discount, in the order 10 % then 8 %.

    Args:
        totals: tax-inclusive totals per rate before the discount.
        discount: points of ``discount`` programs used on this receipt.
        rounding: how each rate's tax is rounded (once per rate).
    """
    for amount in totals.values():
        check_amount(amount)
    after = discounted_totals(totals, discount)
    result = []
    for rate in sorted(totals, reverse=True):
        amount = after[rate]
        result.append(RateTotal(rate=rate, amount=amount, tax=included_tax(amount, rate, rounding)))
    return result
