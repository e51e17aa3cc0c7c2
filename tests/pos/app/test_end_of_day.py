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


async def a_sale_then_end_of_day(pilot: Pilot[int]) -> None:
    """¥556 paid with ¥1,000, then the end-of-day screen with a float of ¥30,000 typed."""
    await ready(pilot)
    await cash_sale(pilot, "556", "1000")
    await open_end_of_day(pilot)
    await fill(pilot, "#float", "30000")


async def test_x_then_z_then_a_second_z_shows_the_first(make_app: Callable[..., PosApp]) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await a_sale_then_end_of_day(pilot)
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
        await pilot.press("f10", "f10")
        await settle(pilot)
        assert "精算(Z) No.1" in text_of(pilot, "#receipt")
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("f10")
        await settle(pilot)
        assert isinstance(app.screen, EndOfDayScreen)
        assert "Z 1" in text_of(pilot, "#message")
        assert "精算(Z) No.1" in text_of(pilot, "#figures")
    assert app.counter.journal.day_close(app.counter.recent()[0].day) is not None


async def test_one_f10_only_asks_and_an_edit_or_escape_leaves_the_day_open(
    make_app: Callable[..., PosApp],
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await a_sale_then_end_of_day(pilot)
        await pilot.press("f10")  # a stray F10
        await settle(pilot)
        assert isinstance(app.screen, EndOfDayScreen)
        assert "もう一度 F10 で精算(Z)します。取り消せません。" in text_of(pilot, "#message")
        assert app.counter.closed_today() is None
        await fill(pilot, "#n500", "1")  # an edit: what F10 would close is not what was asked about
        await pilot.press("f10")
        await settle(pilot)
        assert isinstance(app.screen, EndOfDayScreen) and app.counter.closed_today() is None
        assert "もう一度 F10" in text_of(pilot, "#message")
        await pilot.press("escape")  # Escape leaves the day open and stays on the screen
        await pilot.pause()
        assert isinstance(app.screen, EndOfDayScreen)
        assert "精算(Z)はしていません" in text_of(pilot, "#message")
        await pilot.press("f10")
        await settle(pilot)
        assert isinstance(app.screen, EndOfDayScreen) and app.counter.closed_today() is None
        await pilot.press("f10")  # the second F10 in a row closes the day
        await settle(pilot)
        assert isinstance(app.screen, ReceiptScreen) and "精算(Z) No.1" in text_of(pilot, "#receipt")
    assert app.counter.closed_today() is not None


async def test_a_field_that_is_not_a_count_stops_x_and_z_and_gets_the_focus(
    make_app: Callable[..., PosApp],
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await a_sale_then_end_of_day(pilot)
        for typed in ("abc", "-3", "100001"):
            await fill(pilot, "#n500", typed)
            app.screen.query_one("#n10000").focus()
            for key in ("f5", "f10", "f10"):
                await pilot.press(key)
                await settle(pilot)
                assert isinstance(app.screen, EndOfDayScreen), (typed, key)
                assert "500円の枚数" in text_of(pilot, "#message"), (typed, key)
                assert app.focused is not None and app.focused.id == "n500", (typed, key)
        await fill(pilot, "#n500", "1")
        await fill(pilot, "#float", "3万")
        app.screen.query_one("#n500").focus()
        await pilot.press("f10", "f10")
        await settle(pilot)
        assert isinstance(app.screen, EndOfDayScreen)
        assert "釣銭準備金" in text_of(pilot, "#message")
        assert app.focused is not None and app.focused.id == "float"
    assert app.counter.closed_today() is None


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
