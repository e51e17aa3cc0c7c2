"""Fee share (Miyakonojo) and claim arithmetic: whole yen, remainder stated, nothing lost."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from points.settlement import claim_amounts, fee_share


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
