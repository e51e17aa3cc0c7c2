"""A return planned at the counter from the journal: lines to yen, points proposed, checked before asking."""

from __future__ import annotations

import datetime as dt
import pathlib

import pytest
from ulid import ULID

from points.tax import Line, TaxRate
from points.wire import (
    AwardLine,
    PointTender,
    RateAmount,
    ReturnRequest,
    ReturnResult,
    SaleRequest,
    SaleResult,
    SaleStatus,
)
from pos.journal import Entry, Journal
from pos.returns import ReturnPlan, ReturnRefused

CARD = "uid:" + "ab" * 32
OTHER = "uid:" + "cd" * 32
LINES = [Line("食パン", 400, 1, TaxRate.REDUCED), Line("カレーパン", 200, 3, TaxRate.REDUCED)]
LINES += [Line("紙袋", 100, 1, TaxRate.STANDARD)]


@pytest.fixture
def journal(tmp_path: pathlib.Path) -> Journal:
    return Journal(tmp_path / "journal.db")


def accepted_sale(journal: Journal) -> Entry:
    """1,100 yen (1,000 at 8 %, 100 at 10 %): 550 points from CARD, 550 cash, 50 points awarded."""
    request = SaleRequest(
        sale_id=str(ULID()),
        terminal_time=dt.datetime.now(dt.UTC),
        receipt_no=journal.next_receipt_no(),
        card_key=CARD,
        totals=[RateAmount(rate=TaxRate.REDUCED, amount=1000), RateAmount(rate=TaxRate.STANDARD, amount=100)],
        points=[PointTender(program_id="tenri-megumi", points=550)],
        cash=550,
    )
    entry = journal.begin_sale(request, LINES)
    answer = SaleResult(
        sale_id=request.sale_id,
        status=SaleStatus.ACCEPTED,
        accepted_at=dt.datetime.now(dt.UTC),
        total=1100,
        points=request.points,
        cash=550,
        awards=[AwardLine(program_id="tenri-megumi", points=50)],
    )
    journal.accept(entry.id, answer)
    return journal.get(entry.id)


def test_a_sale_is_found_by_its_receipt_number_or_sale_id_and_nothing_else(journal: Journal) -> None:
    sale = accepted_sale(journal)
    assert journal.find_sale(str(sale.receipt_no)) == sale
    assert journal.find_sale("１") == sale  # full-width, as typed in kana mode
    assert journal.find_sale(sale.id.lower()) == sale  # the sale id, as a scanner may send it
    for text in ("", "²", "9" * 40, "🍞", "' OR 1=1 --", "2"):
        assert journal.find_sale(text) is None, text


def test_chosen_lines_become_yen_per_rate_and_points_go_back_in_proportion(journal: Journal) -> None:
    plan = ReturnPlan(accepted_sale(journal), [])
    plan.choose_lines([LINES[1]])  # 600 yen at 8 %
    assert plan.amounts == {8: 600}
    assert plan.points == {"tenri-megumi": 300}  # half the sale was paid in points
    assert (plan.total, plan.cash) == (600, 300)
    plan.card_key = CARD
    assert plan.check() == 600


def test_points_go_back_only_to_the_sales_card_and_never_beyond_the_sale(journal: Journal) -> None:
    plan = ReturnPlan(accepted_sale(journal), [])
    plan.set_amount(8, 1000)
    plan.card_key = OTHER
    with pytest.raises(ReturnRefused) as refused:
        plan.check()
    assert refused.value.code == "return_card_mismatch"
    plan.card_key = CARD
    plan.points = {"tenri-megumi": 551}
    with pytest.raises(ReturnRefused) as refused:
        plan.check()
    assert refused.value.code == "refund_points_exceed_sale"
    plan.set_amount(8, 1001)
    with pytest.raises(ReturnRefused) as refused:
        plan.check()
    assert refused.value.code == "return_exceeds_sale"


def test_an_accepted_earlier_return_counts_and_a_refused_one_does_not(journal: Journal) -> None:
    sale = accepted_sale(journal)
    for accept in (True, False):
        request = ReturnRequest(
            return_id=str(ULID()),
            terminal_time=dt.datetime.now(dt.UTC),
            receipt_no=journal.next_receipt_no(),
            amounts=[RateAmount(rate=TaxRate.REDUCED, amount=600)],
            card_key=CARD,
            points=[PointTender(program_id="tenri-megumi", points=300)],
            cash=300,
        )
        entry = journal.begin_return(request, sale.id, [LINES[1]])
        if accept:
            result = ReturnResult(
                return_id=request.return_id,
                sale_id=sale.id,
                accepted_at=dt.datetime.now(dt.UTC),
                amounts=request.amounts,
                points=request.points,
                cash=300,
            )
            journal.accept(entry.id, result)
        else:
            from points.wire import ErrorBody

            journal.refuse(entry.id, ErrorBody(code="return_offline", message="offline"))
    earlier = journal.returns_of(sale.id)
    assert [e.sale_id for e in earlier] == [sale.id, sale.id]
    plan = ReturnPlan(sale, earlier)
    assert plan.side.returned_total == 600
    plan.set_amount(8, 400)  # the rest at 8 %: 1,000 of 1,100 yen back in all, so 500 of the 550 points
    assert plan.points == {"tenri-megumi": 200}
    plan.card_key = CARD
    assert plan.check() == 400
    assert [e.kind.value for e in journal.of_day(sale.day)] == ["sale", "return", "return"]
