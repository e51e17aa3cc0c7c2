"""Award rules: how many points a receipt, an event or a balance earns.

Each rule is one function with exact integer boundaries; programs name the rule and its
parameters (see :mod:`points.programs`), and every caller goes through these functions.
"""

from __future__ import annotations

from dataclasses import dataclass

from points.money import check_amount


def percent_of_receipt(
    amount: int,
    *,
    rate_permille: int,
    unit: int,
    minimum_receipt: int,
    receipt_cap: int | None,
) -> int:
    """Points for a receipt as a share of its amount, rounded down to ``unit``.

    Tenri's rule is 10 % (``rate_permille=100``) in 100-yen units for receipts of 1,000 yen
    or more, the receipt counted up to 50,000 yen: 999 → 0, 1,099 → 100, 12,345 → 1,200,
    80,000 → 5,000.

    Args:
        amount: the receipt's tax-inclusive total in yen.
        rate_permille: the award rate in tenths of a percent.
        unit: the rounding unit (points are rounded down to a multiple of it).
        minimum_receipt: receipts below this earn nothing.
        receipt_cap: the largest receipt amount counted, or ``None`` for no cap.

    Returns:
        The points awarded, a non-negative multiple of ``unit``.
    """
    check_amount(amount)
    if unit <= 0 or rate_permille < 0:
        raise ValueError("unit must be positive and rate non-negative")
    if amount < minimum_receipt:
        return 0
    counted = amount if receipt_cap is None else min(amount, receipt_cap)
    raw = counted * rate_permille // 1000
    return raw // unit * unit


def fixed_for_event(event_kind: str, table: dict[str, int]) -> int:
    """Points for taking part in an event (Toshima: volunteer 200, event 100, walk rally 500).

    Raises:
        KeyError: the event kind is not in the program's table.
    """
    return check_amount(table[event_kind])


@dataclass(frozen=True, slots=True)
class Exchange:
    """Vouchers given for points (Bungotakada: 5,000 pt → ten 500-yen vouchers, no change)."""

    voucher_count: int
    voucher_value: int

    @property
    def cost(self) -> int:
        """The points the exchange takes from the holder's balance."""
        return self.voucher_count * self.voucher_value


def voucher_exchange(
    balance: int, *, threshold: int, voucher_value: int, voucher_count: int
) -> Exchange | None:
    """The voucher exchange a balance qualifies for, or ``None`` below the threshold.

    One exchange per call: a holder with 12,000 pt gets one set of vouchers, not two.
    """
    check_amount(balance)
    if balance < threshold or balance < voucher_value * voucher_count:
        return None
    return Exchange(voucher_count=voucher_count, voucher_value=voucher_value)
