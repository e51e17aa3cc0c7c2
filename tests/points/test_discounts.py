"""Shop discounts and the one rule spreading a discount over rates (split_discount)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from points import discounts
from points.discounts import Discount, DiscountKind
from points.tax import TaxRate, discounted_totals, receipt_tax, split_discount

amounts = st.integers(min_value=0, max_value=10_000_000)


def test_percent_rounds_down_and_yen_is_exact() -> None:
    assert Discount(DiscountKind.PERCENT, 10).off(385) == 38
    assert Discount(DiscountKind.YEN, 50).off(385) == 50
    assert Discount(DiscountKind.PERCENT, 100).off(385) == 385
    with pytest.raises(discounts.DiscountError):
        Discount(DiscountKind.YEN, 500).off(385)
    with pytest.raises(discounts.DiscountError):
        Discount(DiscountKind.PERCENT, 101)


def test_typed_discounts_and_their_receipt_words() -> None:
    assert discounts.parse("１０％").label == "割引10%"
    assert discounts.parse("50円").label == "値引"
    assert discounts.parse("30%", markdown=True).label == "見切30%"
    for text in ("", "-5", "1.5", "abc", "0", "0%"):
        with pytest.raises(discounts.DiscountError):
            discounts.parse(text)


@given(st.dictionaries(st.sampled_from(list(TaxRate)), amounts, min_size=1), st.data())
def test_a_spread_discount_sums_to_the_yen_and_never_goes_negative(
    totals: dict[TaxRate, int], data: st.DataObject
) -> None:
    discount = data.draw(st.integers(0, sum(totals.values())))
    after = discounted_totals(totals, discount)
    assert sum(after.values()) == sum(totals.values()) - discount
    assert all(0 <= after[rate] <= totals[rate] for rate in totals)
    # Each rate's share is its proportion, within a yen.
    whole = sum(totals.values())
    for rate, share in split_discount(totals, discount).items():
        if whole:
            assert abs(share - totals[rate] * discount / whole) < 1


@given(amounts, amounts, st.data())
def test_shop_discount_then_points_is_the_same_rule_twice(
    standard: int, reduced: int, data: st.DataObject
) -> None:
    totals = {TaxRate.STANDARD: standard, TaxRate.REDUCED: reduced}
    shop = data.draw(st.integers(0, standard + reduced))
    points = data.draw(st.integers(0, standard + reduced - shop))
    after_shop = discounted_totals(totals, shop)
    taxed = receipt_tax(after_shop, points)
    assert sum(r.amount for r in taxed) == standard + reduced - shop - points
    assert all(r.amount >= 0 and r.tax >= 0 for r in taxed)


def test_a_bakery_subtotal_discount_is_split_in_proportion() -> None:
    # ¥1,000 of bread (8 %) and ¥500 of eat-in coffee (10 %), ¥150 off: 100 and 50.
    after = discounted_totals({TaxRate.REDUCED: 1_000, TaxRate.STANDARD: 500}, 150)
    assert after == {TaxRate.REDUCED: 900, TaxRate.STANDARD: 450}
