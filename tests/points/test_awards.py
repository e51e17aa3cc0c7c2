"""Award rules on their boundaries: Tenri tickets, Toshima events, Bungotakada vouchers."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from points.awards import fixed_for_event, percent_of_receipt, voucher_exchange
from points.money import MAX_AMOUNT, AmountError
from points.programs import PercentAward

TENRI = PercentAward(rate_permille=100, unit=100, minimum_receipt=1000, receipt_cap=50_000)


@pytest.mark.parametrize(
    ("receipt", "points"),
    [
        (0, 0),
        (999, 0),
        (1_000, 100),
        (1_099, 100),
        (1_100, 100),
        (1_999, 100),
        (2_000, 200),
        (12_345, 1_200),
        (49_999, 4_900),
        (50_000, 5_000),
        (50_001, 5_000),
        (80_000, 5_000),
    ],
)
def test_tenri_ticket_award_for_receipt(receipt: int, points: int) -> None:
    assert TENRI.points_for(receipt) == points


@given(st.integers(min_value=0, max_value=MAX_AMOUNT))
def test_percent_award_is_a_capped_nonnegative_multiple_of_the_unit(receipt: int) -> None:
    points = TENRI.points_for(receipt)
    assert 0 <= points <= 5_000
    assert points % 100 == 0
    assert points <= receipt // 10


@given(st.integers(min_value=1_000, max_value=MAX_AMOUNT - 100))
def test_percent_award_never_decreases_with_a_larger_receipt(receipt: int) -> None:
    assert TENRI.points_for(receipt + 100) >= TENRI.points_for(receipt)


@pytest.mark.parametrize("bad", [-1, 1.5, "100", True, MAX_AMOUNT + 1])
def test_percent_award_refuses_non_amounts(bad: object) -> None:
    with pytest.raises(AmountError):
        percent_of_receipt(bad, rate_permille=100, unit=100, minimum_receipt=0, receipt_cap=None)  # type: ignore[arg-type]


def test_toshima_event_awards() -> None:
    table = {"volunteer": 200, "event": 100, "walk_rally": 500}
    assert [fixed_for_event(k, table) for k in table] == [200, 100, 500]
    with pytest.raises(KeyError):
        fixed_for_event("marathon", table)


@pytest.mark.parametrize(("balance", "vouchers"), [(4_999, None), (5_000, 10), (12_000, 10), (0, None)])
def test_bungotakada_exchange(balance: int, vouchers: int | None) -> None:
    exchange = voucher_exchange(balance, threshold=5_000, voucher_value=500, voucher_count=10)
    if vouchers is None:
        assert exchange is None
    else:
        assert exchange is not None
        assert exchange.voucher_count == vouchers
        assert exchange.cost == 5_000 <= balance
