"""The statement slip from the server's answer, and the checkout's rules at their boundaries.

The shop's config, a card's balances and tickets come from the real server (once for the module).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from points import calendar
from points.settlement_wire import Statement
from points.wire import Balance, CardLookup, EligibilityTag, Lot, TerminalConfig
from pos import receipts
from pos.checkout import Basket, Checkout, TenderRefused
from printers import decode, render
from tests.support.counter_server import ALICE, Clock, build_template, serving


def statement_answer() -> dict[str, object]:
    claim = {
        "claim_id": "2026-10:yamato-bakery:tenri-megumi", "program_id": "tenri-megumi",
        "program_name": "天理めぐみめぐるポイント", "city_id": "tenri", "payout": "city_direct",
        "redeemed_points": 12_000, "redeemed_tickets": 3_000, "voided": 500, "gross": 14_500,
        "fee_share_permille": 0, "fee": 0, "fee_remainder": "0", "net": 14_500, "disputed": 700,
        "state": "approved", "state_ja": "承認済み", "return_reason": None,
    }  # fmt: skip
    data = {
        "merchant": {
            "id": "yamato-bakery",
            "name": "やまとベーカリー",
            "invoice_number": None,
            "chamber_id": None,
        },
        "period_id": "2026-10",
        "claims": [claim],
        "disputed": [],
        "totals": {"gross": 14_500, "fee": 0, "net": 14_500, "disputed": 700, "voided": 500},
    }
    return Statement.model_validate(data).model_dump(mode="json")  # the server's own schema


@dataclass
class Shop:
    """What the shop terminal got from the real server: its config, ALICE's card, ticket texts."""

    config: TerminalConfig
    card: CardLookup
    tickets: list[str]


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    template = build_template(tmp_path_factory.mktemp("demo"))
    with serving(tmp_path_factory.mktemp("server"), template, Clock()) as server:
        client = server.client()
        yield Shop(client.terminal_config(), client.lookup(ALICE), server.issue_tickets(5000))


def test_the_statement_slip_pays_what_the_server_says(shop: Shop) -> None:
    config = shop.config
    document = receipts.statement(config, statement_answer())
    assert document.payable == 14_500
    assert (document.period_start, document.period_end) == (dt.date(2026, 10, 1), dt.date(2026, 10, 31))
    paper = "\n".join(decode(render(document)))
    assert "やまとベーカリー" in paper and "14,500" in paper


def checkout(shop: Shop, total: int, online: bool = True) -> Checkout:
    basket = Basket()
    basket.add(total)
    return Checkout(config=shop.config, basket=basket, online=online, card=shop.card)


def test_points_are_capped_by_balance_and_due_and_offline_limits(shop: Shop) -> None:
    sale = checkout(shop, 1000)
    assert sale.max_points("tenri-megumi") == 1000
    with pytest.raises(TenderRefused) as over:
        sale.use_points("tenri-megumi", 1001)
    assert over.value.code == "insufficient_balance" or over.value.code == "points_exceed_total"
    offline = checkout(shop, 1000, online=False)
    assert offline.max_points("tenri-megumi") == 0  # offline limit 0: disabled with a reason
    assert offline.why_not(offline.programs["tenri-megumi"]).code == "offline_points"
    assert offline.max_points("toshima-points") == 500  # its offline limit


def test_a_card_on_the_configurations_block_list_is_refused_offline(shop: Shop) -> None:
    offline = checkout(shop, 1000, online=False)
    assert offline.max_points("toshima-points") == 500 and not offline.card_blocked
    offline.config = offline.config.model_copy(update={"blocked_keys": [shop.card.card_key]})
    assert offline.card_blocked
    refusal = offline.why_not(offline.programs["toshima-points"])
    assert refusal is not None and refusal.code == "card_blocked"
    assert offline.max_points("toshima-points") == 0 and offline.award_programs() == []
    # The sale can still be paid in cash: it then carries no card at all.
    offline.cash = 1000
    assert offline.request("01JCARDB2ACKED000000000000", 1, dt.datetime.now(dt.UTC)).card_key is None


def test_eligibility_is_checked_against_the_card_tags_and_their_dates(shop: Shop) -> None:
    sale = checkout(shop, 1000)
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


def with_change(shop: Shop) -> TerminalConfig:
    """The shop's config with 天理めぐみめぐる made a change-giving program."""
    megumi = next(p for p in shop.config.programs if p.id == "tenri-megumi")
    others = [p for p in shop.config.programs if p.id != "tenri-megumi"]
    return shop.config.model_copy(
        update={"programs": [megumi.model_copy(update={"change_allowed": True}), *others]}
    )


def test_a_change_giving_ticket_over_due_pays_it_all_and_gives_the_rest_as_change(shop: Shop) -> None:
    (ticket,) = shop.tickets  # a 500-point ticket
    basket = Basket()
    basket.add(300)
    sale = Checkout(config=with_change(shop), basket=basket)
    held = sale.add_ticket(ticket)
    assert (held.applied, held.lost, sale.remainder, sale.change, sale.complete) == (500, 0, 0, 200, True)
    sale.cash = 100  # cash tendered when nothing is due comes back too
    assert sale.change == 300


def test_a_no_change_ticket_over_due_needs_consent_to_lose_the_rest(shop: Shop) -> None:
    (no_change,) = shop.tickets  # 天理めぐみめぐる gives no change in the demo
    basket = Basket()
    basket.add(300)
    sale = Checkout(config=shop.config, basket=basket)
    with pytest.raises(TenderRefused) as warned:
        sale.add_ticket(no_change)
    assert warned.value.code == "ticket_loss" and warned.value.values["lost"] == 200
    assert sale.tickets == []
    held = sale.add_ticket(no_change, accept_loss=True)
    assert (held.applied, held.lost, sale.remainder, sale.change) == (300, 200, 0, 0)


def test_the_soonest_expiring_program_is_offered_first(shop: Shop) -> None:
    sale = checkout(shop, 1000)
    soon = dt.date.today() + dt.timedelta(days=3)
    sale.card = CardLookup(
        card_key=ALICE,
        balances=[
            Balance(program_id="oguni-kitasato", points=100),
            Balance(program_id="tenri-megumi", points=100, expiring=[Lot(points=50, expires_on=soon)]),
        ],
    )
    assert [p.id for p in sale.offer_order()] == ["tenri-megumi", "oguni-kitasato"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    total=st.integers(1, 20_000),
    points=st.integers(0, 6_000),
    cash=st.integers(0, 30_000),
)
def test_tenders_never_exceed_what_is_due_and_change_comes_from_cash(
    shop: Shop, total: int, points: int, cash: int
) -> None:
    sale = checkout(shop, total)
    try:
        sale.use_points("tenri-megumi", points)
    except TenderRefused:
        assert points > min(5000, total)
    sale.cash = cash
    assert 0 <= sale.covered <= total
    assert sale.remainder == total - sale.covered
    assert sale.change == max(cash - sale.remainder, 0)
    assert sale.complete == (cash >= sale.remainder)
