"""The statement slip from the server's answer, and the checkout's rules at their boundaries."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from points import calendar
from points.settlement_wire import Statement
from points.wire import Balance, CardLookup, EligibilityTag, Lot
from pos import receipts
from pos.checkout import Basket, Checkout, TenderRefused
from printers import decode, render
from tests.pos.fake_server import ALICE, FakeServer


def statement_answer() -> dict[str, object]:
    claim = {
        "claim_id": "2026-10:m-sakura:tenri-megumi", "program_id": "tenri-megumi",
        "program_name": "天理めぐみめぐるポイント", "city_id": "tenri", "payout": "city_direct",
        "redeemed_points": 12_000, "redeemed_tickets": 3_000, "voided": 500, "gross": 14_500,
        "fee_share_permille": 0, "fee": 0, "fee_remainder": "0", "net": 14_500, "disputed": 700,
        "state": "approved", "state_ja": "承認済み", "return_reason": None,
    }  # fmt: skip
    data = {
        "merchant": {"id": "m-sakura", "name": "さくら商店", "invoice_number": None, "chamber_id": None},
        "period_id": "2026-10",
        "claims": [claim],
        "disputed": [],
        "totals": {"gross": 14_500, "fee": 0, "net": 14_500, "disputed": 700, "voided": 500},
    }
    return Statement.model_validate(data).model_dump(mode="json")  # the server's own schema


def test_the_statement_slip_pays_what_the_server_says() -> None:
    config = FakeServer().config()
    document = receipts.statement(config, statement_answer())
    assert document.payable == 14_500
    assert (document.period_start, document.period_end) == (dt.date(2026, 10, 1), dt.date(2026, 10, 31))
    paper = "\n".join(decode(render(document)))
    assert "さくら商店" in paper and "14,500" in paper


def checkout(total: int, online: bool = True) -> Checkout:
    server = FakeServer()
    basket = Basket()
    basket.add(total)
    return Checkout(config=server.config(), basket=basket, online=online, card=server.lookup(ALICE))


def test_points_are_capped_by_balance_and_due_and_offline_limits() -> None:
    sale = checkout(1000)
    assert sale.max_points("tenri-megumi") == 1000
    with pytest.raises(TenderRefused) as over:
        sale.use_points("tenri-megumi", 1001)
    assert over.value.code == "insufficient_balance" or over.value.code == "points_exceed_total"
    offline = checkout(1000, online=False)
    assert offline.max_points("tenri-megumi") == 0  # offline limit 0: disabled with a reason
    assert offline.why_not(offline.programs["tenri-megumi"]).code == "offline_points"
    assert offline.max_points("health-walk") == 500


def test_eligibility_is_checked_against_the_card_tags_and_their_dates() -> None:
    sale = checkout(1000)
    program = sale.programs["tenri-megumi"].model_copy(update={"eligibility_tag": "age65"})
    sale.config = sale.config.model_copy(update={"programs": [program, *sale.config.programs[1:]]})
    assert sale.why_not(program).code == "not_eligible"
    yesterday = calendar.today() - dt.timedelta(days=1)  # business dates are Japan time
    sale.card = sale.card.model_copy(
        update={"eligibility": [EligibilityTag(tag="age65", valid_until=yesterday)]}
    )
    assert sale.why_not(program).code == "not_eligible"
    sale.card = sale.card.model_copy(
        update={"eligibility": [EligibilityTag(tag="age65", valid_until=calendar.today())]}
    )
    assert sale.why_not(program) is None


def test_a_change_giving_ticket_over_due_pays_it_all_and_gives_the_rest_as_change() -> None:
    server = FakeServer()
    basket = Basket()
    basket.add(300)
    sale = Checkout(config=server.config(), basket=basket)
    held = sale.add_ticket(server.ticket(500, "tenri-megumi"))  # the fake's Tenri program gives change
    assert (held.applied, held.lost, sale.remainder, sale.change, sale.complete) == (500, 0, 0, 200, True)
    sale.cash = 100  # cash tendered when nothing is due comes back too
    assert sale.change == 300
    with pytest.raises(TenderRefused) as refused:
        sale.add_ticket(server.ticket(100, "tenri-megumi"))
    assert refused.value.code == "ticket_not_needed"


def test_a_no_change_ticket_over_due_needs_consent_to_lose_the_rest() -> None:
    server = FakeServer()
    basket = Basket()
    basket.add(300)
    sale = Checkout(config=server.config(), basket=basket)
    no_change = server.ticket(500, "health-walk")
    with pytest.raises(TenderRefused) as warned:
        sale.add_ticket(no_change)
    assert warned.value.code == "ticket_loss" and warned.value.values["lost"] == 200
    assert sale.tickets == []
    held = sale.add_ticket(no_change, accept_loss=True)
    assert (held.applied, held.lost, sale.remainder, sale.change) == (300, 200, 0, 0)


def test_the_soonest_expiring_program_is_offered_first() -> None:
    sale = checkout(1000)
    soon = dt.date.today() + dt.timedelta(days=3)
    sale.card = CardLookup(
        card_key=ALICE,
        balances=[
            Balance(program_id="health-walk", points=100),
            Balance(program_id="tenri-megumi", points=100, expiring=[Lot(points=50, expires_on=soon)]),
        ],
    )
    assert [p.id for p in sale.offer_order()] == ["tenri-megumi", "health-walk"]


@settings(max_examples=60, deadline=None)
@given(
    total=st.integers(1, 20_000),
    points=st.integers(0, 6_000),
    cash=st.integers(0, 30_000),
)
def test_tenders_never_exceed_what_is_due_and_change_comes_from_cash(
    total: int, points: int, cash: int
) -> None:
    sale = checkout(total)
    try:
        sale.use_points("tenri-megumi", points)
    except TenderRefused:
        assert points > min(5000, total)
    sale.cash = cash
    assert 0 <= sale.covered <= total
    assert sale.remainder == total - sale.covered
    assert sale.change == max(cash - sale.remainder, 0)
    assert sale.complete == (cash >= sale.remainder)
