"""Returns (返品) at the counter (Pilot, real server, TCP test printer): the screen, the receipt, Z."""

from __future__ import annotations

from collections.abc import Callable

from textual.pilot import Pilot
from textual.widgets import Input

from pos.app import PosApp
from pos.card.simulated import DEMO_UIDS, SimulatedReader
from pos.journal import EntryKind, EntryState
from pos.screens.end_of_day import EndOfDayScreen
from pos.screens.home import HomeScreen
from pos.screens.receipt import ReceiptScreen
from pos.screens.returns import ReturnScreen
from pos.screens.tender import TenderScreen
from tests.pos.app.conftest import SIZE
from tests.pos.app.helpers import fill, ready, settle, text_of, type_in
from tests.support.counter_server import ALICE, CounterServer
from tests.support.tcp_printer import TcpPrinter, tcp_printer  # noqa: F401  (fixture)

ALICE_CARD = SimulatedReader.uid_card(DEMO_UIDS[0])
BOB_CARD = SimulatedReader.uid_card(DEMO_UIDS[1])


def normal(line: str) -> str:
    """A printed line with its runs of spaces squeezed (columns are the layout's business)."""
    return " ".join(line.split())


async def points_sale(pilot: Pilot[int], reader: SimulatedReader) -> None:
    """From home: 1,100 yen, 800 としま points from ALICE's card, 500 yen cash (change 200)."""
    await pilot.press("f1")
    await pilot.pause()
    await type_in(pilot, "1100")
    reader.tap(ALICE_CARD)
    await settle(pilot)
    assert isinstance(pilot.app.screen, TenderScreen)
    assert "としまポイント" in text_of(pilot, "#program")
    await type_in(pilot, "800")
    await fill(pilot, "#cash", "500")
    await settle(pilot)
    assert isinstance(pilot.app.screen, ReceiptScreen)
    await pilot.press("escape")
    await settle(pilot)


async def cash_sale_then_its_return_screen(pilot: Pilot[int]) -> None:
    """An ¥800 sale paid with ¥1,000 cash, then History, B: the return screen on that sale."""
    await pilot.press("f1")
    await pilot.pause()
    await type_in(pilot, "800")
    await pilot.press("f10")
    await settle(pilot)
    await fill(pilot, "#cash", "1000")
    await settle(pilot)
    await pilot.press("escape")
    await settle(pilot)
    await pilot.press("f2")
    await settle(pilot)
    await pilot.press("b")
    await settle(pilot)


async def test_a_return_through_the_screen_gives_points_and_cash_back_and_prints_a_return_receipt(
    make_app: Callable[..., PosApp],
    real_server: CounterServer,
    reader: SimulatedReader,
    tcp_printer: TcpPrinter,  # noqa: F811
) -> None:
    real_server.grant(ALICE, "toshima-points", 800, expires_in_days=10)
    app = make_app(printer=tcp_printer.url)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await points_sale(pilot, reader)
        (sale,) = [e for e in app.counter.today() if e.kind is EntryKind.SALE]
        rate = int(sale.request["totals"][0]["rate"])
        after_sale = real_server.balance(ALICE, "toshima-points")
        awarded = {a["program_id"]: a["points"] for a in (sale.answer or {}).get("awards", [])}
        assert isinstance(app.screen, HomeScreen)
        await pilot.press("f2")  # History, then B: the return screen (a receipt number finds any day's sale)
        await settle(pilot)
        await pilot.press("b")
        await settle(pilot)
        assert isinstance(app.screen, ReturnScreen)
        await fill(pilot, "#find", str(sale.receipt_no))
        assert "レシート" in text_of(pilot, "#return-sale") and "¥1,100" in text_of(pilot, "#return-sale")
        # Half of the sale comes back: typed as an amount at the sale's rate.
        await fill(pilot, f"#amount{rate}", "550")
        summary = text_of(pilot, "#return-summary")
        # 800 of 1,100 yen were paid in points: 400 of the 550 go back as points, 150 in cash.
        assert "¥550" in summary and "400 pt" in summary and "¥150" in summary
        assert "カードをタッチ" in summary
        await pilot.press("f10")
        await settle(pilot)
        assert "カードをタッチ" in text_of(pilot, "#message")  # not yet: the card is asked for
        reader.tap(BOB_CARD)  # someone else's card is not the sale's
        await settle(pilot)
        assert "取引で使ったカードではありません" in text_of(pilot, "#return-summary")
        reader.tap(ALICE_CARD)
        await settle(pilot)
        assert "確認しました" in text_of(pilot, "#return-summary")
        await pilot.press("f10")
        await settle(pilot)
        assert "もう一度F10" in text_of(pilot, "#message")
        await pilot.press("f10")
        await settle(pilot)
        assert isinstance(app.screen, ReceiptScreen)
        assert "返品" in text_of(pilot, "#receipt")
        await pilot.press("escape")
        await settle(pilot)
        # Back through History to home, and the Z report after the return.
        assert "返品" in str(app.screen.query_one("DataTable").get_row_at(1))
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("f3")
        await settle(pilot)
        assert isinstance(app.screen, EndOfDayScreen)
        await fill(pilot, "#float", "10000")
        await pilot.press("f10", "f10")  # the Z close asks once, the second F10 closes
        await settle(pilot)
        assert "精算(Z) No.1" in text_of(pilot, "#receipt")
    (back,) = [e for e in app.counter.recent() if e.kind is EntryKind.RETURN]  # after the Z: recent()
    assert back.state is EntryState.ACCEPTED and back.sale_id == sale.id
    answer = back.return_result
    assert answer is not None and answer.sale_returned == 550
    taken = {a.program_id: a.points for a in answer.awards_taken_back}
    assert sum(taken.values()) == sum(awarded.values()) // 2  # half the yen: half the award, rounded down
    assert real_server.balance(ALICE, "toshima-points") == after_sale + 400 - taken.get("toshima-points", 0)
    stored = real_server.query("SELECT sale_id, amount, cash FROM sale_returns")
    assert stored == [(sale.id, 550, 150)]
    jobs = tcp_printer.wait_for_jobs(5)  # the sale, its drawer kick, the return, its kick, the Z
    printed = [[normal(line) for line in job.lines] for job in jobs]
    (receipt,) = [lines for lines in printed if any(line == "返品" for line in lines)]
    assert "登録番号 T1234567890123" in receipt
    assert f"元レシート No.{sale.receipt_no:06d}" in receipt
    assert "返品合計 -¥550" in receipt
    tax = 550 * rate // (100 + rate)
    assert "内消費税等 -¥" + f"{tax:,}" in receipt
    assert "ポイント返却 としまポイント +400 pt" in receipt
    assert "現金返金 ¥150" in receipt
    assert f"返品ID {back.id}" in receipt
    (z,) = [lines for lines in printed if any(line.startswith("精算(Z)") for line in lines)]
    assert "返品 1件 -¥550" in z
    assert "返金 現金 1件 ¥150" in z
    assert "純売上 ¥550" in z
    # The drawer: the float, plus the cash the sale kept, less the cash refunded.
    cash_kept = sale.request["cash"] - int((sale.answer or {}).get("change", 0))
    assert f"現金在高(予定) ¥{10_000 + cash_kept - 150:,}" in z


async def test_an_offline_return_is_refused_in_words_and_nothing_is_returned(
    make_app: Callable[..., PosApp], real_server: CounterServer, reader: SimulatedReader
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await cash_sale_then_its_return_screen(pilot)
        assert isinstance(app.screen, ReturnScreen)
        (sale,) = [e for e in app.counter.today() if e.kind is EntryKind.SALE]
        rate = int(sale.request["totals"][0]["rate"])
        await pilot.press("space")  # the line under the cursor comes back whole
        await settle(pilot)
        assert app.screen.query_one(f"#amount{rate}", Input).value == "800"
        assert "¥800" in text_of(pilot, "#return-summary")
        await fill(pilot, f"#amount{rate}", "300")
        real_server.outage()
        await pilot.press("f10")
        await settle(pilot)
        await pilot.press("f10")
        await settle(pilot)
        assert isinstance(app.screen, ReturnScreen)
        assert "返品していません" in text_of(pilot, "#message")
        real_server.outage(False)
        await fill(pilot, f"#amount{rate}", "900")  # beyond the sale: refused before asking
        await pilot.press("f10")
        await settle(pilot)
        assert "超えています" in text_of(pilot, "#message")
    (back,) = [e for e in app.counter.journal.returns_of(sale.id)]
    assert back.state is EntryState.REFUSED and back.error_code == "return_offline"
    assert real_server.query("SELECT COUNT(*) FROM sale_returns") == [(0,)]


HOSTILE = ["", " ", "１２", "²", "-5", "1e9", "9" * 40, "¥1,000", "🍞", "0x10", "' OR 1=1 --", "\x00"]


async def test_whatever_is_typed_in_any_field_of_the_return_screen_it_keeps_running(
    make_app: Callable[..., PosApp], real_server: CounterServer
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await cash_sale_then_its_return_screen(pilot)
        fields = [f"#{field.id}" for field in app.screen.query(Input)]
        assert {"#find", "#amount10", "#amount8"} <= set(fields)
        for field in fields:
            for text in HOSTILE:
                widget = app.screen.query_one(field, Input)
                widget.value = text
                await pilot.pause()
                widget.focus()
                await pilot.press("enter")
                await pilot.press("f10")
                await pilot.pause()
                assert isinstance(app.screen, ReturnScreen), (field, text)
        await settle(pilot)
    assert real_server.query("SELECT COUNT(*) FROM sale_returns") == [(0,)]


async def test_a_return_whose_answer_was_lost_is_asked_again_with_the_same_id_and_applied_once(
    make_app: Callable[..., PosApp],
    real_server: CounterServer,
    tcp_printer: TcpPrinter,  # noqa: F811
) -> None:
    app = make_app(printer=tcp_printer.url)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await cash_sale_then_its_return_screen(pilot)
        (sale,) = [e for e in app.counter.today() if e.kind is EntryKind.SALE]
        rate = int(sale.request["totals"][0]["rate"])
        await fill(pilot, f"#amount{rate}", "300")
        real_server.lose_answers()
        await pilot.press("f10")
        await settle(pilot)
        await pilot.press("f10")
        await settle(pilot)
        assert isinstance(app.screen, ReturnScreen)
        assert "もう一度問い合わせ" in text_of(pilot, "#message")
        (pending,) = app.counter.journal.returns_of(sale.id)
        assert pending.state is EntryState.PENDING
        real_server.lose_answers(False)
        await pilot.press("f10")
        await settle(pilot)
        assert isinstance(app.screen, ReceiptScreen) and "返品" in text_of(pilot, "#receipt")
    (back,) = app.counter.journal.returns_of(sale.id)
    assert back.id == pending.id and back.state is EntryState.ACCEPTED
    assert real_server.query("SELECT return_id, amount FROM sale_returns") == [(back.id, 300)]
    # The drawer opened for the sale's cash and again for the refund once the answer came.
    jobs = tcp_printer.wait_for_jobs(4)
    assert [line for job in jobs for line in job.lines].count("[drawer 0 100ms 100ms]") == 2
