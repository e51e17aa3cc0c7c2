"""The X/Z report's arithmetic: sums per rate and tender, the drawer and 過不足."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from points.dayreport import (
    DENOMINATIONS,
    MAX_PIECES,
    SaleFigures,
    TenderAmount,
    counted_total,
    expected_cash,
    over_short,
    summarise,
)

yen = st.integers(min_value=0, max_value=1_000_000)
kinds = st.sampled_from(["cash", "points", "ticket", "external"])
keys = st.sampled_from(["", "tenri", "oguni", "paypay"])
sales = st.builds(
    SaleFigures,
    rates=st.lists(st.tuples(st.sampled_from([8, 10]), yen, yen), max_size=2).map(tuple),
    tenders=st.lists(st.builds(TenderAmount, kinds, keys, yen), max_size=4).map(tuple),
    voided=st.booleans(),
    returned=yen,
    refund_cash=yen,
)


def test_a_bakery_morning() -> None:
    day = summarise(
        [
            SaleFigures(((8, 556, 41),), (TenderAmount("cash", "", 556),)),
            SaleFigures(
                ((8, 1_080, 80), (10, 330, 30)),
                (TenderAmount("points", "tenri", 410), TenderAmount("cash", "", 1_000)),
            ),
            SaleFigures(((10, 220, 20),), (TenderAmount("cash", "", 220),), voided=True),
        ]
    )
    assert (day.sales.count, day.sales.amount) == (2, 1_966)
    assert (day.voids.count, day.voids.amount) == (1, 220)
    assert day.rates == {10: (330, 30), 8: (1_636, 121)}
    assert list(day.tenders) == [("cash", ""), ("points", "tenri")]
    assert day.cash_in == 1_556
    assert expected_cash(30_000, day) == 31_556
    assert over_short(31_550, 31_556) == -6


@given(st.lists(sales, max_size=30))
def test_the_day_is_the_sum_of_its_receipts(day_sales: list[SaleFigures]) -> None:
    day = summarise(day_sales)
    standing = [s for s in day_sales if not s.voided]
    assert day.sales.count == len(standing)
    assert day.sales.amount == sum(s.total for s in standing)
    assert sum(amount for amount, _tax in day.rates.values()) == day.sales.amount
    assert sum(tax for _amount, tax in day.rates.values()) == sum(
        t for s in standing for _r, _a, t in s.rates
    )
    assert sum(s.amount for s in day.tenders.values()) == sum(t.amount for s in standing for t in s.tenders)
    assert day.voids.amount == sum(s.total for s in day_sales if s.voided)
    assert day.voids.count + day.sales.count == len(day_sales)
    # Cash comes first in the list, whatever order the day saw it in.
    kinds_in_order = [kind for kind, _key in day.tenders]
    assert kinds_in_order == sorted(kinds_in_order, key=lambda k: k != "cash")


@given(st.lists(sales, max_size=20), yen, yen)
def test_over_short_is_counted_less_expected(
    day_sales: list[SaleFigures], change_float: int, counted: int
) -> None:
    day = summarise(day_sales)
    expected = expected_cash(change_float, day)
    assert expected == change_float + day.cash_in - day.refund_cash
    assert counted == expected + over_short(counted, expected)


@given(st.dictionaries(st.sampled_from(DENOMINATIONS), st.integers(0, MAX_PIECES)))
def test_counted_cash_by_denomination(pieces: dict[int, int]) -> None:
    assert counted_total(pieces) == sum(d * n for d, n in pieces.items())


@pytest.mark.parametrize("pieces", [{3: 1}, {1000: -1}, {1000: MAX_PIECES + 1}, {500: True}])
def test_a_wrong_count_is_refused(pieces: dict[int, int]) -> None:
    with pytest.raises(ValueError):
        counted_total(pieces)


def test_a_return_counts_apart_per_rate_and_tender_and_its_cash_leaves_the_drawer() -> None:
    day = summarise(
        [
            SaleFigures(((8, 1_080, 80), (10, 330, 30)), (TenderAmount("cash", "", 1_410),)),
            SaleFigures(
                ((8, 540, 40),),
                (TenderAmount("points", "tenri", 200), TenderAmount("cash", "", 340)),
                refund_cash=340,
                is_return=True,
            ),
        ]
    )
    assert (day.sales.count, day.sales.amount) == (1, 1_410)
    assert (day.returns.count, day.returns.amount) == (1, 540)
    assert day.return_rates == {8: (540, 40)}
    assert day.return_tenders[("cash", "")].amount == 340
    assert day.net == 870
    assert expected_cash(10_000, day) == 10_000 + 1_410 - 340
