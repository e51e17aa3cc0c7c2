"""Tax per rate, computed once per rate per receipt, and discounts split across rates."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from points.tax import (
    Line,
    Rounding,
    TaxRate,
    included_tax,
    receipt_tax,
    split_discount,
    totals_by_rate,
)

amounts = st.integers(min_value=0, max_value=10_000_000)


def test_included_tax_examples() -> None:
    assert included_tax(1_100, 10) == 100
    assert included_tax(1_080, 8) == 80
    assert included_tax(1_000, 10) == 90  # 90.9 floored
    assert included_tax(1_000, 10, Rounding.CEIL) == 91
    assert included_tax(1_000, 10, Rounding.HALF_UP) == 91
    assert included_tax(105, 8, Rounding.HALF_UP) == 8  # 7.78 → 8
    assert included_tax(0, 10) == 0


def test_tax_is_rounded_once_per_rate_not_per_item() -> None:
    # Three 100-yen items at 10 %: per item 9 + 9 + 9 = 27, once per receipt floor(27.27) = 27;
    # ten of them: per item 90, per receipt floor(90.9) = 90 — and eleven: 99 vs floor(100) = 100.
    lines = [Line(f"item {i}", 100) for i in range(11)]
    (standard,) = receipt_tax(totals_by_rate(lines))
    assert standard.amount == 1_100
    assert standard.tax == 100


def test_mixed_receipt_lists_ten_percent_first() -> None:
    lines = [Line("弁当", 540, 2, TaxRate.REDUCED), Line("ボールペン", 110)]
    result = receipt_tax(totals_by_rate(lines))
    assert [(r.rate, r.amount, r.tax) for r in result] == [
        (TaxRate.STANDARD, 110, 10),
        (TaxRate.REDUCED, 1_080, 80),
    ]


def test_discount_is_split_in_proportion_with_remainder_to_the_larger_share() -> None:
    totals = {TaxRate.STANDARD: 1_000, TaxRate.REDUCED: 2_000}
    assert split_discount(totals, 300) == {TaxRate.STANDARD: 100, TaxRate.REDUCED: 200}
    # 100 * 1/3 = 33.3, 100 * 2/3 = 66.7: the leftover yen goes to the larger remainder.
    assert split_discount(totals, 100) == {TaxRate.STANDARD: 33, TaxRate.REDUCED: 67}
    # Equal remainders: the higher rate takes the yen.
    assert split_discount({TaxRate.STANDARD: 1, TaxRate.REDUCED: 1}, 1) == {
        TaxRate.STANDARD: 1,
        TaxRate.REDUCED: 0,
    }


def test_discount_larger_than_the_receipt_is_refused() -> None:
    with pytest.raises(ValueError, match="exceeds"):
        split_discount({TaxRate.STANDARD: 100}, 101)


@given(amounts, amounts, st.data())
def test_discount_split_never_changes_the_total(standard: int, reduced: int, data: st.DataObject) -> None:
    totals = {TaxRate.STANDARD: standard, TaxRate.REDUCED: reduced}
    discount = data.draw(st.integers(min_value=0, max_value=standard + reduced))
    shares = split_discount(totals, discount)
    assert sum(shares.values()) == discount
    assert all(0 <= shares[r] <= totals[r] for r in totals)
    after = receipt_tax(totals, discount)
    assert sum(r.amount for r in after) == standard + reduced - discount


@given(
    st.lists(
        st.tuples(st.integers(0, 100_000), st.integers(1, 20), st.sampled_from(TaxRate)),
        max_size=30,
    )
)
def test_tax_shown_per_rate_sums_to_the_receipt_tax(items: list[tuple[int, int, TaxRate]]) -> None:
    lines = [Line("x", price, qty, rate) for price, qty, rate in items]
    result = receipt_tax(totals_by_rate(lines))
    assert sum(r.amount for r in result) == sum(line.amount for line in lines)
    for rate_total in result:
        # floor: tax <= amount * rate / (100 + rate) < tax + 1, in integers
        scaled = rate_total.amount * rate_total.rate - rate_total.tax * (100 + rate_total.rate)
        assert 0 <= scaled < 100 + rate_total.rate
