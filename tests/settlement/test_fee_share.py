"""Fee share (Miyakonojo) and claim arithmetic: whole yen, remainder stated, nothing lost."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from points.settlement import claim_amounts, fee_share, online_fee


@pytest.mark.parametrize(
    ("gross", "permille", "yen", "remainder"),
    [
        (300, 35, 10, 500),
        (1000, 35, 35, 0),
        (999, 1, 0, 999),
        (1, 1000, 1, 0),
        (12345, 100, 1234, 500),
        (0, 35, 0, 0),
    ],
)
def test_fee_is_rounded_down_to_the_yen_and_the_remainder_stated(
    gross: int, permille: int, yen: int, remainder: int
) -> None:
    fee = fee_share(gross, permille)
    assert (fee.yen, fee.remainder_permille) == (yen, remainder)


def test_remainder_is_written_as_a_fraction_of_a_yen() -> None:
    assert fee_share(300, 35).remainder_text == "0.500"
    assert fee_share(301, 1).remainder_text == "0.301"


@settings(max_examples=300)
@given(st.integers(0, 10**11), st.integers(0, 1000))
def test_fee_plus_remainder_is_exactly_the_share(gross: int, permille: int) -> None:
    fee = fee_share(gross, permille)
    assert fee.yen * 1000 + fee.remainder_permille == gross * permille
    assert 0 <= fee.remainder_permille < 1000 and 0 <= fee.yen <= gross


@settings(max_examples=200)
@given(st.integers(0, 10**9), st.integers(0, 10**9), st.integers(0, 10**9), st.integers(0, 1000))
def test_net_and_fee_make_the_gross(points: int, tickets: int, voided: int, permille: int) -> None:
    if voided > points + tickets:
        with pytest.raises(ValueError):
            claim_amounts(points, tickets, voided, permille)
        return
    amounts = claim_amounts(points, tickets, voided, permille, disputed=7)
    assert amounts.net + amounts.fee.yen == amounts.gross == points + tickets - voided
    assert amounts.disputed == 7 and amounts.net >= 0


@pytest.mark.parametrize(("gross", "permille"), [(-1, 0), (10, -1), (10, 1001)])
def test_out_of_range_inputs_are_refused(gross: int, permille: int) -> None:
    with pytest.raises(ValueError):
        fee_share(gross, permille)


@pytest.mark.parametrize(
    ("gross", "bp", "yen", "remainder"),
    [
        (3000, 1000, 300, 0),  # Miyakonojo's 10 % of a 3,000-yen pottery line
        (2399, 1000, 239, 900),
        (1, 1, 0, 0),  # 0.0001 yen: below a thousandth, shown as 0
        (9999, 10_000, 9999, 0),
        (0, 1000, 0, 0),
    ],
)
def test_the_online_fee_share_is_in_basis_points_rounded_down_once(
    gross: int, bp: int, yen: int, remainder: int
) -> None:
    fee = online_fee(gross, bp)
    assert (fee.yen, fee.remainder_permille) == (yen, remainder)


@given(st.integers(min_value=0, max_value=10**9), st.integers(min_value=0, max_value=10_000))
@settings(max_examples=300)
def test_the_online_fee_never_exceeds_the_exact_share_nor_falls_a_yen_short(gross: int, bp: int) -> None:
    fee = online_fee(gross, bp)
    assert fee.yen * 10_000 <= gross * bp < (fee.yen + 1) * 10_000


def test_an_online_share_outside_0_to_10000_basis_points_is_refused() -> None:
    with pytest.raises(ValueError):
        online_fee(100, 10_001)
    with pytest.raises(ValueError):
        online_fee(-1, 100)
