"""The return rules (返品): bounds per rate, refunds that add up, awards taken back in proportion."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from points.returns import ReturnError, SaleSide, award_taken_back, check_return


def side(returned: dict[int, int] | None = None, refunded: dict[str, int] | None = None) -> SaleSide:
    return SaleSide(
        total=5000,
        totals={10: 3000, 8: 2000},
        points={"tenri": 1000},
        awards={"tenri": 400},
        returned=returned or {},
        points_refunded=refunded or {},
    )


@given(
    awarded=st.integers(0, 100_000),
    parts=st.lists(st.integers(1, 10_000), min_size=1, max_size=8),
)
def test_awards_taken_back_over_any_parts_add_up_to_one_rounding_of_the_whole(
    awarded: int, parts: list[int]
) -> None:
    total = sum(parts)
    taken, before = [], 0
    for part in parts:
        taken.append(award_taken_back(awarded, total, before, part))
        before += part
    assert all(t >= 0 for t in taken)
    assert sum(taken) == awarded  # the whole returned: every point back, in any order of parts
    half = total // 2
    assert award_taken_back(awarded, total, 0, half) == awarded * half // total


def test_a_rate_is_bounded_by_what_is_left_of_it() -> None:
    assert check_return(side(), {8: 2000}, {}, 0, 2000) == 2000
    with pytest.raises(ReturnError) as error:
        check_return(side({8: 1500}), {8: 501}, {}, 0, 501)
    assert error.value.code == "return_exceeds_sale"


def test_a_sale_kept_without_its_rates_is_bounded_by_its_total() -> None:
    unknown = SaleSide(5000, {}, {}, {}, {10: 4000}, {})
    assert check_return(unknown, {8: 1000}, {}, 0, 1000) == 1000
    with pytest.raises(ReturnError):
        check_return(unknown, {8: 1001}, {}, 0, 1001)


def test_points_back_never_exceed_what_the_sale_redeemed_less_earlier_refunds() -> None:
    with pytest.raises(ReturnError) as error:
        check_return(side(refunded={"tenri": 600}), {10: 1000}, {"tenri": 401}, 0, 599)
    assert error.value.code == "refund_points_exceed_sale"
    assert check_return(side(refunded={"tenri": 600}), {10: 1000}, {"tenri": 400}, 100, 500) == 1000


def test_the_refund_adds_up_to_the_returned_yen_and_a_return_is_not_empty() -> None:
    with pytest.raises(ReturnError) as error:
        check_return(side(), {10: 1000}, {}, 0, 999)
    assert error.value.code == "refund_mismatch"
    with pytest.raises(ReturnError) as error:
        check_return(side(), {10: 0}, {}, 0, 0)
    assert error.value.code == "return_empty"


def test_the_points_proposed_back_follow_the_share_paid_in_points_and_the_last_return_gives_the_rest() -> (
    None
):
    from points.returns import points_back

    assert points_back(side(), "tenri", 1000) == 200  # a fifth of the sale: a fifth of its points
    assert points_back(side({10: 3000}, {"tenri": 600}), "tenri", 2000) == 400
    assert points_back(side(), "oguni", 1000) == 0
