"""A bakery's counter: department keys, the default 8 % rate, PLU scans and discounts (Pilot, real server)."""

from __future__ import annotations

import pathlib
from collections.abc import Callable

import pytest
from textual.pilot import Pilot

from points.tax import TaxRate
from pos.app import PosApp
from pos.items import ItemList, parse
from pos.screens.receipt import ReceiptScreen
from pos.screens.sale import SaleScreen
from pos.screens.tender import TenderScreen
from tests.pos.app.conftest import SIZE
from tests.pos.app.helpers import fill, ready, settle, text_of, type_in
from tests.support.counter_server import CounterServer

BREAD = "4901234567894"


@pytest.fixture
def bakery() -> ItemList:
    return parse(
        {
            "default_rate": 8,
            "markdown_percent": 30,
            "department": [
                {"key": "A", "name": "パン", "rate": 8},
                {"key": "D", "name": "イートイン", "rate": 10, "price": 300},
            ],
            "product": [{"jan": BREAD, "name": "食パン 1斤", "price": 380, "rate": 8}],
        }
    )


async def scan(pilot: Pilot[int], code: str) -> None:
    """A keyboard-wedge scanner: the digits fast, then Enter."""
    for digit in code:
        await pilot.press(digit)
    await pilot.press("enter")
    await pilot.pause()


async def pay_cash(pilot: Pilot[int], cash: str) -> str:
    await pilot.press("f10")
    await settle(pilot)
    assert isinstance(pilot.app.screen, TenderScreen)
    await fill(pilot, "#cash", cash)
    await settle(pilot)
    assert isinstance(pilot.app.screen, ReceiptScreen)
    return text_of(pilot, "#receipt")


async def test_department_keys_scans_and_default_rate_ring_up_a_bakery_sale(
    make_app: Callable[..., PosApp], bakery: ItemList, tmp_path: pathlib.Path
) -> None:
    app = make_app(items=bakery)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, SaleScreen)
        assert "A パン※" in text_of(pilot, "#departments")
        await type_in(pilot, "200")  # a plain amount: the shop's 8 %, no F2
        await type_in(pilot, "250", enter=False)
        await pilot.press("a")  # 部門 A after the amount
        await pilot.pause()
        await pilot.press("D")  # 部門 D alone: its fixed price
        await pilot.pause()
        await scan(pilot, BREAD)
        await scan(pilot, "4901234567895")  # misread: refused, nothing added
        assert "チェックデジット" in text_of(pilot, "#message")
        lines = app.basket.lines
        assert [(line.name, line.amount, line.rate) for line in lines] == [
            ("食品", 200, TaxRate.REDUCED),
            ("パン", 250, TaxRate.REDUCED),
            ("イートイン", 300, TaxRate.STANDARD),
            ("食パン 1斤", 380, TaxRate.REDUCED),
        ]
        assert lines[-1].code == BREAD
        assert "※食パン 1斤" in text_of(pilot, "#lines")
        receipt = await pay_cash(pilot, "2000")
    assert "※食パン 1斤" in receipt and "イートイン" in receipt
    assert "※ 8%対象" in receipt and "¥830" in receipt  # 200 + 250 + 380 at 8 %
    (entry,) = [e for e in app.counter.today() if e.kind.value == "sale"]
    # The server got totals per rate only, never the names or codes.
    assert entry.request["totals"] == [{"rate": 10, "amount": 300}, {"rate": 8, "amount": 830}]


async def test_line_and_subtotal_discounts_and_markdown_reach_the_receipt(
    make_app: Callable[..., PosApp], bakery: ItemList
) -> None:
    app = make_app(items=bakery)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("f1")
        await pilot.pause()
        await scan(pilot, BREAD)
        await pilot.press("f9")  # 見切り: the shop's 30 % (380 → 266)
        await pilot.pause()
        await pilot.press("D")
        await type_in(pilot, "50", enter=False)
        await pilot.press("f4")  # ¥50 off the eat-in line
        await pilot.pause()
        await type_in(pilot, "10%", enter=False)
        await pilot.press("f5")  # 10 % off the subtotal: 516 → 464 (51 off, spread over the rates)
        await pilot.pause()
        assert app.basket.total == 516 - 51
        assert "小計割引10%" in text_of(pilot, "#lines")
        receipt = await pay_cash(pilot, "1000")
    assert "見切30%" in receipt and "-¥114" in receipt and "値引" in receipt
    assert "小計値引" in receipt and "-¥51" in receipt
    (entry,) = [e for e in app.counter.today() if e.kind.value == "sale"]
    totals = {t["rate"]: t["amount"] for t in entry.request["totals"]}
    assert sum(totals.values()) == 465 and totals == {10: 250 - 25, 8: 266 - 26}


async def test_other_tenders_pay_by_kind_and_the_receipt_shows_them(
    make_app: Callable[..., PosApp], real_server: CounterServer
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("f1")
        await pilot.pause()
        await type_in(pilot, "1500")
        await pilot.press("f10")
        await settle(pilot)
        await pilot.press("f4")  # credit card
        await pilot.pause()
        await pilot.press("f4")  # F4 again: QR (PayPay …)
        await pilot.pause()
        assert "QR" in text_of(pilot, "#external-kind")
        await type_in(pilot, "1000")
        assert "¥500" in text_of(pilot, "#due")  # what is left for cash
        await fill(pilot, "#cash", "1000")
        await settle(pilot)
        assert isinstance(app.screen, ReceiptScreen)
        receipt = text_of(pilot, "#receipt")
    assert "QR決済" in receipt and "¥1,000" in receipt
    (entry,) = [e for e in app.counter.today() if e.kind.value == "sale"]
    assert entry.request["external"] == [{"kind": "qr", "amount": 1000}]
    assert entry.sale_result is not None and entry.sale_result.change == 500
    rows = real_server.query("SELECT kind, amount FROM sale_external_tenders")
    assert [tuple(r) for r in rows] == [("qr", 1000)]
