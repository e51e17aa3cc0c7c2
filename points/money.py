"""Yen and point amounts (1 pt = 1 yen), always ``int``, and how they are written."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

#: The largest amount a single sale, ticket or award may carry (one hundred million yen).
MAX_AMOUNT = 100_000_000

Yen = int
Points = int

#: A non-negative amount on the wire: strict ``int`` (no floats, no strings), within bounds.
Amount = Annotated[int, Field(strict=True, ge=0, le=MAX_AMOUNT)]
#: A positive amount on the wire.
PositiveAmount = Annotated[int, Field(strict=True, gt=0, le=MAX_AMOUNT)]


class AmountError(ValueError):
    """An amount that is not a whole number of yen or points within bounds."""


def check_amount(value: object, *, allow_zero: bool = True) -> int:
    """Return ``value`` if it is a valid amount, else raise :class:`AmountError`.

    Args:
        value: the candidate amount.
        allow_zero: whether 0 is acceptable.

    Raises:
        AmountError: a bool, float, negative, zero (when not allowed) or too large value.
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise AmountError(f"amount must be an int, got {type(value).__name__}")
    if value < 0 or value > MAX_AMOUNT or (value == 0 and not allow_zero):
        raise AmountError(f"amount out of range: {value}")
    return value


def format_yen(amount: int) -> str:
    """Write yen the Japanese way: ``¥1,234`` (``-¥500`` for a negative amount)."""
    sign = "-" if amount < 0 else ""
    return f"{sign}¥{abs(amount):,}"


def format_points(points: int) -> str:
    """Write points: ``1,234 pt``."""
    return f"{points:,} pt"
