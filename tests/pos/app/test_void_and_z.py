"""Issue 11 leftovers on paper (Pilot, real server): the void receipt gives back every tender of
the sale (other tenders, and what a ticket paid), and the Z's ポイント付与 is followed by the
付与取消 of the day's returns."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest

from points import calendar
from pos.app import PosApp
from pos.card.simulated import SimulatedReader
from pos.checkout import TenderRefused
from pos.journal import EntryKind
from pos.screens.end_of_day import EndOfDayScreen
from pos.screens.receipt import ReceiptScreen
from pos.screens.returns import ReturnScreen
from tests.pos.app.conftest import SIZE
from tests.pos.app.helpers import fill, ready, settle, text_of, type_in
from tests.pos.app.test_returns import ALICE_CARD, normal
from tests.support.counter_server import CounterServer


def lines_of(pilot: object, selector: str) -> list[str]:
    return [normal(line) for line in text_of(pilot, selector).splitlines()]  # type: ignore[arg-type]


async def test_the_void_receipt_gives_back_the_qr_payment_and_says_what_the_ticket_paid(
    make_app: Callable[..., PosApp], real_server: CounterServer
) -> None:
    (ticket,) = real_server.issue_tickets(5000)  # one 500-point ticket
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("f1")
        await pilot.pause()
        await type_in(pilot, "1000")
        await pilot.press("f10")
        await settle(pilot)
        await fill(pilot, "#ticket", ticket)
        await settle(pilot)
        await pilot.press("f4")
        await pilot.pause()
        await pilot.press("f4")  # QR
        await pilot.pause()
        await fill(pilot, "#external", "200")
        await fill(pilot, "#cash", "300")
        await settle(pilot)
        assert isinstance(app.screen, ReceiptScreen), text_of(pilot, "#message")
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("f2")
        await settle(pilot)
        await pilot.press("v")
        await pilot.pause()
        await pilot.press("v")
        await settle(pilot)
        assert isinstance(app.screen, ReceiptScreen), text_of(pilot, "#message")
        void = lines_of(pilot, "#receipt")
    assert "取消" in void
    assert any(line.startswith("ポイント券返却") and line.endswith("¥500") for line in void), void
    assert "うちお支払い分 ¥500" in void
    assert any(line.startswith("QR") and line.endswith("返金 ¥200") for line in void), void
    assert "現金返金 ¥300" in void


async def test_the_z_report_shows_the_award_a_return_took_back(
    make_app: Callable[..., PosApp], real_server: CounterServer, reader: SimulatedReader
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("f1")
        await pilot.pause()
        await type_in(pilot, "5000")
        reader.tap(ALICE_CARD)  # the card earns points on a ¥5,000 cash sale
        await settle(pilot)
        await fill(pilot, "#cash", "5000")
        await settle(pilot)
        assert isinstance(app.screen, ReceiptScreen), text_of(pilot, "#message")
        await pilot.press("escape")
        await settle(pilot)
        reader.remove()
        await settle(pilot)
        (sale,) = [e for e in app.counter.today() if e.kind is EntryKind.SALE]
        awarded = {a["program_id"]: a["points"] for a in (sale.answer or {}).get("awards", [])}
        assert sum(awarded.values()) > 0, "the sale must earn points for this test"
        await pilot.press("f2")
        await settle(pilot)
        await pilot.press("b")
        await settle(pilot)
        assert isinstance(app.screen, ReturnScreen)
        await pilot.press("space")  # the whole sale comes back, and with it the whole award
        await settle(pilot)
        reader.tap(ALICE_CARD)
        await settle(pilot)
        await pilot.press("f10")
        await settle(pilot)
        await pilot.press("f10")
        await settle(pilot)
        assert isinstance(app.screen, ReceiptScreen), text_of(pilot, "#message")
        reader.remove()
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("f3")
        await settle(pilot)
        assert isinstance(app.screen, EndOfDayScreen)
        await fill(pilot, "#float", "10000")
        await pilot.press("f10", "f10")  # the Z close asks once, the second F10 closes
        await settle(pilot)
        z = lines_of(pilot, "#receipt")
    (back,) = [e for e in app.counter.recent() if e.kind is EntryKind.RETURN]  # the Z moved today() on
    taken = {a["program_id"]: a["points"] for a in (back.answer or {}).get("awards_taken_back", [])}
    assert taken == {k: v for k, v in awarded.items() if v}
    names = {p.id: p.name_ja for p in app.counter.config.programs}  # type: ignore[union-attr]
    for program_id, points in taken.items():
        at = z.index(names[program_id])
        block = z[at : at + 6]
        assert f"ポイント付与 1件 {points:,} pt" in block, block
        assert f"付与取消 1件 -{points:,} pt" in block, block


async def _cash_sale(pilot: object, yen: int) -> None:
    await pilot.press("f1")  # type: ignore[attr-defined]
    await pilot.pause()  # type: ignore[attr-defined]
    await type_in(pilot, str(yen))  # type: ignore[arg-type]
    await pilot.press("f10")  # type: ignore[attr-defined]
    await settle(pilot)  # type: ignore[arg-type]
    await fill(pilot, "#cash", str(yen))  # type: ignore[arg-type]
    await settle(pilot)  # type: ignore[arg-type]
    assert isinstance(pilot.app.screen, ReceiptScreen), text_of(pilot, "#message")  # type: ignore[attr-defined, arg-type]
    await pilot.press("escape")  # type: ignore[attr-defined]
    await settle(pilot)  # type: ignore[arg-type]


async def _z_close(pilot: object) -> list[str]:
    await pilot.press("f3")  # type: ignore[attr-defined]
    await settle(pilot)  # type: ignore[arg-type]
    await pilot.press("f10", "f10")  # type: ignore[attr-defined]
    await settle(pilot)  # type: ignore[arg-type]
    assert isinstance(pilot.app.screen, ReceiptScreen), text_of(pilot, "#message")  # type: ignore[attr-defined, arg-type]
    z = lines_of(pilot, "#receipt")
    await pilot.press("escape")  # type: ignore[attr-defined]
    await settle(pilot)  # type: ignore[arg-type]
    await pilot.press("escape")  # type: ignore[attr-defined]
    await settle(pilot)  # type: ignore[arg-type]
    return z


@pytest.mark.parametrize("days_later", [1, 2], ids=["the next morning", "after the closing day"])
async def test_a_sale_after_the_z_close_counts_in_the_next_z(
    make_app: Callable[..., PosApp],
    real_server: CounterServer,
    monkeypatch: pytest.MonkeyPatch,
    days_later: int,
) -> None:
    # The bakery closed the day, then a late customer bought bread. That sale used to be in no Z at
    # all (the day's was printed, the next day's took only the next day's sales): the drawer never
    # balanced. Now the register has moved on to the next day (its 営業日) after the Z.
    app = make_app()
    today = calendar.today()
    tomorrow = today + dt.timedelta(days=1)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await _cash_sale(pilot, 1000)
        first_z = await _z_close(pilot)
        assert "売上 1件 ¥1,000" in first_z, first_z
        await _cash_sale(pilot, 700)
        home = normal(text_of(pilot, "#totals"))
        assert (
            "本日は精算済みです（Z 1）" in home and f"{tomorrow.month}/{tomorrow.day} 分: 1 件 ¥700" in home
        ), home
        await pilot.press("f2")
        await settle(pilot)
        rows = [str(app.screen.query_one("#history").get_row_at(n)) for n in range(2)]  # type: ignore[attr-defined]
        assert any("1,000" in row for row in rows) and any("700" in row for row in rows), (
            rows
        )  # both reprintable
        await pilot.press("escape")
        await settle(pilot)
        before, after = sorted(app.counter.recent(), key=lambda e: e.created_at)
        with pytest.raises(TenderRefused) as refused:
            app.counter.void(before)  # printed in the Z: a return now, never a void
        assert refused.value.code == "void_after_z"
        await pilot.press("f3")
        await settle(pilot)
        x = lines_of(pilot, "#figures")  # the end-of-day screen after the Z: the next day so far
        assert f"営業日 {tomorrow.year}年{tomorrow.month}月{tomorrow.day}日" in " ".join(x), x
        assert "売上 1件 ¥700" in x, x
        await pilot.press("escape")
        await settle(pilot)
        # The next day the shop opens (the next morning, or after its weekly closing day, 定休日):
        # that day's Z holds the late sale with the day's own.
        moment = calendar.now() + dt.timedelta(days=days_later)
        monkeypatch.setattr(calendar, "now", lambda: moment)
        opened = today + dt.timedelta(days=days_later)
        assert app.counter.journal.register_day() == opened
        await _cash_sale(pilot, 300)
        second_z = await _z_close(pilot)
    assert "売上 2件 ¥1,000" in second_z, second_z
    assert after.day == tomorrow and app.counter.journal.day_close(opened) is not None
