"""The return screen's leftovers of issue 11 (Pilot, real server): Tab reaches the lines, every
points program of a sale has its field, other tenders (credit/QR/IC) are refunded by kind, and a
return in training mode (練習モード) sends nothing and says so on its receipt."""

from __future__ import annotations

from collections.abc import Callable

from textual.pilot import Pilot
from textual.widgets import DataTable, Input

from pos.app import PosApp
from pos.card.simulated import DEMO_UIDS, SimulatedReader
from pos.journal import EntryKind, EntryState
from pos.screens.receipt import ReceiptScreen
from pos.screens.returns import ReturnScreen
from pos.screens.tender import TenderScreen
from tests.pos.app.conftest import SIZE
from tests.pos.app.helpers import choose_program, fill, ready, settle, text_of, type_in
from tests.pos.app.test_returns import cash_sale_then_its_return_screen
from tests.support.counter_server import ALICE, CounterServer

ALICE_CARD = SimulatedReader.uid_card(DEMO_UIDS[0])


async def open_return_of_last_sale(pilot: Pilot[int]) -> None:
    """From the receipt of a sale: home, History, B on the sale under the cursor."""
    await pilot.press("escape")
    await settle(pilot)
    await pilot.press("f2")
    await settle(pilot)
    await pilot.press("b")
    await settle(pilot)
    assert isinstance(pilot.app.screen, ReturnScreen)


async def test_tab_goes_from_the_receipt_number_to_the_lines_and_on_to_the_amounts(
    make_app: Callable[..., PosApp],
) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:  # the demo's terminal
        await ready(pilot)
        await cash_sale_then_its_return_screen(pilot)
        app.screen.query_one("#find", Input).focus()
        await pilot.pause()
        await pilot.press("tab")
        await pilot.pause()
        assert isinstance(app.focused, DataTable)
        await pilot.press("space")  # and space there chooses the line
        await settle(pilot)
        assert "¥800" in text_of(pilot, "#return-summary")
        await pilot.press("tab")
        await pilot.pause()
        assert isinstance(app.focused, Input) and app.focused.id == "amount10"


async def mixed_sale(pilot: Pilot[int], reader: SimulatedReader) -> None:
    """From home: ¥2,000 paid with 300 としま points, 200 天理 points, ¥500 by QR and ¥1,000 cash."""
    await pilot.press("f1")
    await pilot.pause()
    await type_in(pilot, "2000")
    reader.tap(ALICE_CARD)
    await settle(pilot)
    assert isinstance(pilot.app.screen, TenderScreen)
    await choose_program(pilot, "としまポイント")
    await fill(pilot, "#points", "300")
    await choose_program(pilot, "天理めぐみ")
    await fill(pilot, "#points", "200")
    await pilot.press("f4")  # credit card
    await pilot.pause()
    await pilot.press("f4")  # QR
    await pilot.pause()
    await fill(pilot, "#external", "500")
    await fill(pilot, "#cash", "1000")
    await settle(pilot)
    assert isinstance(pilot.app.screen, ReceiptScreen), text_of(pilot, "#message")


async def test_a_return_gives_back_each_program_s_points_and_the_qr_payment_in_their_own_fields(
    make_app: Callable[..., PosApp], real_server: CounterServer, reader: SimulatedReader
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        toshima = real_server.balance(ALICE, "toshima-points")
        tenri = real_server.balance(ALICE, "tenri-megumi")
        await mixed_sale(pilot, reader)
        reader.remove()
        await settle(pilot)
        await open_return_of_last_sale(pilot)
        screen = app.screen
        await pilot.press("space")  # the whole ¥2,000 line
        await settle(pilot)
        assert screen.query_one("#refund-points", Input).value == "300"
        assert screen.query_one("#refund-points-2", Input).value == "200"
        assert screen.query_one("#refund-qr", Input).value == "500"
        assert "現金 ¥1,000" in text_of(pilot, "#return-summary")
        await fill(pilot, "#refund-qr", "400")  # the QR app refunds less: the drawer the rest
        await fill(pilot, "#refund-points-2", "150")
        assert "現金 ¥1,150" in text_of(pilot, "#return-summary")
        reader.tap(ALICE_CARD)
        await settle(pilot)
        await pilot.press("f10")
        await settle(pilot)
        await pilot.press("f10")
        await settle(pilot)
        assert isinstance(app.screen, ReceiptScreen), text_of(pilot, "#message")
        receipt = text_of(pilot, "#receipt")
        assert "QR" in receipt and "¥400" in receipt
    (sale,) = [e for e in app.counter.today() if e.kind is EntryKind.SALE]
    (back,) = app.counter.journal.returns_of(sale.id)
    assert back.state is EntryState.ACCEPTED
    assert back.request["external"] == [{"kind": "qr", "amount": 400}]
    assert {p["program_id"]: p["points"] for p in back.request["points"]} == {
        "toshima-points": 300,
        "tenri-megumi": 150,
    }
    assert back.request["cash"] == 1150
    assert real_server.query("SELECT amount FROM sale_returns") == [(2000,)]
    assert real_server.balance(ALICE, "toshima-points") == toshima  # all 300 back
    # 天理: 200 spent, 150 back, less what the return took back of the sale's award there.
    awarded = {a["program_id"]: a["points"] for a in (sale.answer or {}).get("awards", [])}
    taken = {a["program_id"]: a["points"] for a in (back.answer or {}).get("awards_taken_back", [])}
    assert taken.get("tenri-megumi", 0) == awarded.get("tenri-megumi", 0)
    assert real_server.balance(ALICE, "tenri-megumi") == tenri - 50


async def test_more_back_to_qr_than_the_sale_paid_by_qr_is_refused_before_asking(
    make_app: Callable[..., PosApp], real_server: CounterServer, reader: SimulatedReader
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await mixed_sale(pilot, reader)
        reader.remove()
        await settle(pilot)
        await open_return_of_last_sale(pilot)
        await pilot.press("space")
        await settle(pilot)
        await fill(pilot, "#refund-points", "")
        await fill(pilot, "#refund-points-2", "")
        await fill(pilot, "#refund-qr", "800")
        await pilot.press("f10")
        await settle(pilot)
        assert isinstance(app.screen, ReturnScreen)
        assert "QR" in text_of(pilot, "#message") and "¥500" not in text_of(pilot, "#message")
        assert "500" in text_of(pilot, "#message")
    assert real_server.query("SELECT COUNT(*) FROM sale_returns") == [(0,)]


async def test_a_return_in_training_mode_sends_nothing_and_its_receipt_is_marked(
    make_app: Callable[..., PosApp], real_server: CounterServer
) -> None:
    app = make_app()
    app.counter.start_training()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await settle(pilot)
        before = real_server.proxy.counts["bytes_up"]
        await cash_sale_then_its_return_screen(pilot)
        assert isinstance(app.screen, ReturnScreen)
        (sale,) = [e for e in app.counter.today() if e.kind is EntryKind.SALE]
        rate = int(sale.request["totals"][0]["rate"])
        await fill(pilot, f"#amount{rate}", "300")
        await pilot.press("f10")
        await settle(pilot)
        await pilot.press("f10")
        await settle(pilot)
        assert isinstance(app.screen, ReceiptScreen), text_of(pilot, "#message")
        receipt = text_of(pilot, "#receipt")
        assert "返品" in receipt and "練習" in receipt
        await app.sync_now()
        await settle(pilot)
        assert real_server.proxy.counts["bytes_up"] == before
    (back,) = app.counter.journal.returns_of(sale.id)
    assert back.state is EntryState.ACCEPTED and back.request["cash"] == 300
    assert real_server.query("SELECT COUNT(*) FROM sale_returns") == [(0,)]
    assert real_server.sales() == {}
