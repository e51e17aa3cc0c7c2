"""The tender rule: points first, tickets in order (no change, or change from their excess), then cash."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from points import tender
from points.programs import FundingSource, Program, TenderKind
from points.tender import TenderError, TicketOffer, cover, settle

NO_CHANGE = lambda value: TicketOffer(value, gives_change=False)  # noqa: E731
GIVES_CHANGE = lambda value: TicketOffer(value, gives_change=True)  # noqa: E731

tickets = st.lists(st.builds(TicketOffer, st.integers(1, 3000), st.booleans()), max_size=5)


def program(**rules: object) -> Program:
    return Program(
        id="p",
        name_ja="テスト",
        name_en="Test",
        city="c",
        funding=FundingSource(kind="city", id="c"),
        **rules,  # type: ignore[arg-type]
    )


def test_a_change_giving_ticket_over_due_pays_the_due_and_its_excess_is_change() -> None:
    paid = settle(700, 0, [GIVES_CHANGE(1000)], cash=0)
    assert (paid.cover.tickets[0].applied, paid.cover.due, paid.change) == (1000, 0, 300)


def test_a_no_change_ticket_over_due_loses_the_rest() -> None:
    paid = settle(700, 0, [NO_CHANGE(1000)], cash=0)
    assert (paid.cover.tickets[0].applied, paid.cover.tickets[0].lost, paid.change) == (700, 300, 0)


def test_points_come_first_and_never_exceed_the_total() -> None:
    assert cover(1000, [400, 600], []).due == 0
    with pytest.raises(TenderError) as error:
        cover(1000, [400, 601], [])
    assert error.value.code == "points_exceed_total"


def test_a_ticket_is_not_taken_when_nothing_is_due() -> None:
    with pytest.raises(TenderError) as error:
        cover(1000, 1000, [NO_CHANGE(100)])
    assert error.value.code == "ticket_not_needed"
    with pytest.raises(TenderError) as error:
        cover(500, 0, [GIVES_CHANGE(500), GIVES_CHANGE(100)])
    assert error.value.code == "ticket_not_needed"


def test_cash_short_by_one_yen_is_underpaid() -> None:
    assert settle(1000, 300, [NO_CHANGE(500)], cash=200).change == 0
    with pytest.raises(TenderError) as error:
        settle(1000, 300, [NO_CHANGE(500)], cash=199)
    assert error.value.code == "underpaid"


def test_only_payment_programs_that_allow_change_give_it() -> None:
    assert tender.gives_change(program())
    assert not tender.gives_change(program(change_allowed=False))
    assert not tender.gives_change(program(tender_kind=TenderKind.DISCOUNT))


def test_programs_are_offered_soonest_expiring_first_then_by_id() -> None:
    soon, later = dt.date(2026, 12, 5), dt.date(2027, 3, 31)
    assert tender.offer_order({"b": later, "c": None, "a": later, "d": soon}) == ["d", "a", "b", "c"]


def test_negative_amounts_are_a_programming_error() -> None:
    with pytest.raises(ValueError):
        cover(100, -1, [])
    with pytest.raises(ValueError):
        cover(100, 0, [NO_CHANGE(-5)])


@given(
    total=st.integers(0, 20_000), points=st.integers(0, 25_000), offers=tickets, cash=st.integers(0, 30_000)
)
def test_the_tenders_add_up_at_every_boundary(
    total: int, points: int, offers: list[TicketOffer], cash: int
) -> None:
    try:
        paid = settle(total, points, offers, cash)
    except TenderError as error:
        # Each refusal is the first rule broken, in the order the rule draws tenders.
        if points > total:
            assert error.code == "points_exceed_total"
            return
        left = total - points
        for offer in offers:
            if left <= 0:
                assert error.code == "ticket_not_needed"
                return
            left -= offer.value if offer.gives_change else min(offer.value, left)
        assert error.code == "underpaid" and cash < max(left, 0)
        return
    covered = paid.cover
    # Everything tendered, less the value lost and the change handed back, is the total.
    lost = sum(t.lost for t in covered.tickets)
    assert points + sum(t.value for t in covered.tickets) + cash - lost - paid.change == total
    assert paid.change >= 0 and covered.due <= cash
    for number, ticket in enumerate(covered.tickets):
        assert 0 < ticket.applied <= ticket.value
        assert ticket.lost == 0 or not ticket.gives_change
        # Only the last ticket may be partly lost or give change: any earlier one left something due.
        if number < len(covered.tickets) - 1:
            assert ticket.applied == ticket.value
    # Change comes from cash, or from a change-giving ticket's excess, never from points.
    assert paid.change <= cash + sum(t.value for t in covered.tickets if t.gives_change)
    # A no-change ticket never gives change by itself: without cash there is none.
    if cash == 0 and not any(t.gives_change for t in covered.tickets):
        assert paid.change == 0


@given(total=st.integers(0, 20_000), points=st.integers(0, 20_000), offers=tickets)
def test_one_ticket_at_a_time_is_the_same_as_all_at_once(
    total: int, points: int, offers: list[TicketOffer]
) -> None:
    try:
        whole = cover(total, points, offers)
    except TenderError as error:
        with pytest.raises(TenderError) as again:
            step = cover(total, points, [])
            for offer in offers:
                step = step.take(offer)
        assert again.value.code == error.code
        return
    step = cover(total, points, [])
    for offer in offers:
        step = step.take(offer)
    assert step == whole


# Other tenders (credit, QR, IC) -----------------------------------------------------------


def test_other_tenders_pay_before_cash_and_never_give_change() -> None:
    from points.tender import settle

    paid = settle(1_000, 300, [], cash=200, external=500)
    assert paid.change == 0 and paid.external == 500
    assert settle(1_000, 0, [], cash=1_000, external=500).change == 500  # change comes from cash
    with pytest.raises(TenderError) as refused:
        settle(1_000, 300, [], cash=0, external=800)
    assert refused.value.code == "external_exceeds_due"
    with pytest.raises(TenderError) as short:
        settle(1_000, 0, [], cash=100, external=500)
    assert short.value.code == "underpaid"


@given(st.integers(0, 100_000), st.data())
def test_other_tenders_and_cash_always_add_up(total: int, data: st.DataObject) -> None:
    from points.tender import settle

    points = data.draw(st.integers(0, total))
    external = data.draw(st.integers(0, total - points))
    cash = data.draw(st.integers(total - points - external, total + 10_000))
    paid = settle(total, points, [], cash, external)
    assert points + external + cash - paid.change == total
    assert 0 <= paid.change <= cash
