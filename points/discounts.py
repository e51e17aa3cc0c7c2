"""Shop discounts (値引・割引・見切り) in whole yen: how much a percent or a yen amount takes off.

A line discount lowers one item line at its own rate; a subtotal discount lowers the whole
receipt and is shared across rates by :func:`points.tax.split_discount` (the one rule for a
discount spread over rates, also used for the points of discount programs). A percent is taken
off and the yen fraction dropped (floor): the customer never gets less than the percent promises
by more than a yen, and never a price below zero.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from points.money import check_amount


class DiscountKind(StrEnum):
    """How a discount is given: a yen amount (値引) or a percent (割引)."""

    YEN = "yen"
    PERCENT = "percent"


class DiscountError(ValueError):
    """A discount that cannot be given: out of range, or more than the amount it lowers."""


@dataclass(frozen=True, slots=True)
class Discount:
    """A discount as typed: ``value`` yen or ``value`` percent; ``markdown`` for 見切り (closing time)."""

    kind: DiscountKind
    value: int
    markdown: bool = False

    def __post_init__(self) -> None:
        check_amount(self.value, allow_zero=False)
        if self.kind is DiscountKind.PERCENT and self.value > 100:
            raise DiscountError(f"a percent is at most 100: {self.value}")

    def off(self, amount: int) -> int:
        """Yen this discount takes off ``amount`` (a percent rounded down to the yen).

        Raises:
            DiscountError: a yen discount larger than ``amount``.
        """
        check_amount(amount)
        if self.kind is DiscountKind.PERCENT:
            return amount * self.value // 100
        if self.value > amount:
            raise DiscountError(f"discount {self.value} exceeds {amount}")
        return self.value

    @property
    def label(self) -> str:
        """The receipt's words: 見切 / 割引10% / 値引."""
        if self.markdown:
            return f"見切{self.value}%" if self.kind is DiscountKind.PERCENT else "見切"
        return f"割引{self.value}%" if self.kind is DiscountKind.PERCENT else "値引"


def parse(text: str, *, markdown: bool = False) -> Discount:
    """Read ``"50"`` (yen) or ``"10%"`` (percent), full-width too.

    Raises:
        DiscountError: not a whole number of yen or a percent from 1 to 100.
    """
    import unicodedata

    normal = unicodedata.normalize("NFKC", text).strip().replace(",", "").replace("円", "")
    kind = DiscountKind.PERCENT if normal.endswith("%") else DiscountKind.YEN
    digits = normal.removesuffix("%").strip()
    if not digits.isascii() or not digits.isdigit() or len(digits) > 9:
        raise DiscountError(f"not a discount: {text!r}")
    try:
        return Discount(kind, int(digits), markdown)
    except ValueError as exc:
        raise DiscountError(str(exc)) from None
