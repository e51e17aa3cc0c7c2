"""X and Z at the counter, the drawer kick on the TCP test printer, and training mode (Pilot, real server)."""

from __future__ import annotations

from collections.abc import Callable

from textual.pilot import Pilot

from pos.app import PosApp
from pos.screens.end_of_day import EndOfDayScreen
from pos.screens.receipt import ReceiptScreen
from tests.pos.app.conftest import SIZE
from tests.pos.app.helpers import fill, ready, settle, text_of, type_in
from tests.support.counter_server import CounterServer
from tests.support.tcp_printer import TcpPrinter, tcp_printer  # noqa: F401  (fixture)


async def cash_sale(pilot: Pilot[int], amount: str, cash: str) -> None:
    """From home: ring up one amount and pay it in cash (no card)."""
    await pilot.press("f1")
    await pilot.pause()
    await type_in(pilot, amount)
    await pilot.press("f10")
    await settle(pilot)
    await fill(pilot, "#cash", cash)
    await settle(pilot)
    assert isinstance(pilot.app.screen, ReceiptScreen)
    await pilot.press("escape")
    await pilot.pause()


async def open_end_of_day(pilot: Pilot[int]) -> None:
    await pilot.press("f3")
    await settle(pilot)
    assert isinstance(pilot.app.screen, EndOfDayScreen)


async def test_x_then_z_then_a_second_z_shows_the_first(make_app: Callable[..., PosApp]) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await cash_sale(pilot, "556", "1000")
        await open_end_of_day(pilot)
        await fill(pilot, "#float", "30000")
        for field, pieces in (("#n10000", "3"), ("#n500", "1"), ("#n50", "1")):
            await fill(pilot, field, pieces)
        figures = text_of(pilot, "#figures")
        assert "点検(X)" in figures and "釣銭準備金" in figures
        assert "¥30,556" in figures  # expected: float + cash kept
        assert "-¥6" in figures  # counted 30,550: short by 6
        await pilot.press("f5")
        await settle(pilot)
        assert isinstance(app.screen, ReceiptScreen) and "点検(X)" in text_of(pilot, "#receipt")
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("f10")
        await settle(pilot)
        assert "精算(Z) No.1" in text_of(pilot, "#receipt")
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("f10")
        await settle(pilot)
        assert isinstance(app.screen, EndOfDayScreen)
        assert "Z 1" in text_of(pilot, "#message")
        assert "精算(Z) No.1" in text_of(pilot, "#figures")
    assert app.counter.journal.day_close(app.counter.today()[0].day) is not None


async def test_the_drawer_opens_after_a_cash_sale_and_on_its_key(
    make_app: Callable[..., PosApp],
    tcp_printer: TcpPrinter,  # noqa: F811
) -> None:
    app = make_app(printer=tcp_printer.url)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await cash_sale(pilot, "300", "500")
        await pilot.press("f11")
        await settle(pilot)
    jobs = tcp_printer.wait_for_jobs(3)
    lines = [line for job in jobs for line in job.lines]
    assert lines.count("[drawer 0 100ms 100ms]") == 2
    assert any(b"\x1bp\x00" in job.data for job in jobs)


async def test_training_sends_nothing_and_marks_every_receipt(
    make_app: Callable[..., PosApp], real_server: CounterServer
) -> None:
    before = real_server.sales()
    app = make_app()
    app.counter.start_training()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        assert "練習モード" in text_of(pilot, "#training-banner")
        await pilot.press("f1")
        await pilot.pause()
        await type_in(pilot, "800")
        await pilot.press("f10")
        await settle(pilot)
        await fill(pilot, "#cash", "1000")
        await settle(pilot)
        assert "【練習】" in text_of(pilot, "#receipt")
        await pilot.press("escape")
        await pilot.press("f9")  # sync: nothing to send in training
        await settle(pilot)
    assert real_server.sales() == before
