"""The console at month end as a clerk meets it (issue 12, findings 9 and 10): its words, questions, files."""

from __future__ import annotations

import datetime as dt
import pathlib
from collections.abc import Iterator

import httpx
import openpyxl
import pytest
from textual.widgets import DataTable, Static

from server.console.app import SettleApp, early_close_warning, save_new
from server.console.client import SettleClient
from server.console.confirm import ConfirmScreen
from tests.settlement.demo_server import DEC, Demo, make_demo, sell
from tests.settlement.pilot import until


@pytest.fixture
def month(tmp_path: pathlib.Path) -> Iterator[Demo]:
    d = make_demo(tmp_path / "server")
    yield d
    d.app.state.store.close()


def console(d: Demo, who: str, out: pathlib.Path) -> SettleApp:
    client = SettleClient("http://settle.test", d.tokens[who], transport=httpx.ASGITransport(app=d.app))
    return SettleApp(client, "2026-11", out, dt.date(2026, 12, 10), who=who)


def status(app: SettleApp) -> str:
    return str(app.query_one("#status", Static).content)


async def test_the_status_line_is_on_screen_on_the_claims_tab(month: Demo, tmp_path: pathlib.Path) -> None:
    app = console(month, "tenri-cci", tmp_path)
    async with app.run_test(size=(140, 40)) as pilot:
        await until(pilot, lambda: "請求" in status(app))
        line = app.query_one("#status", Static).region
        assert line.height == 1 and 0 <= line.y < 40 - 1  # above the footer, inside the screen


async def test_closing_asks_first_and_no_is_no(month: Demo, tmp_path: pathlib.Path) -> None:
    await sell(month, "yamato-bakery", "sato", 1200)
    month.clock[0] = DEC
    app = console(month, "tenri-cci", tmp_path)
    async with app.run_test(size=(140, 40)) as pilot:
        await until(pilot, lambda: "請求" in status(app))
        await pilot.click("#close")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("n")
        await until(pilot, lambda: "取り消しました" in status(app))
        assert app.query_one("#claims", DataTable).row_count == 0  # nothing was closed
        await pilot.press("a")  # approving with nothing selected says so, and asks nothing
        await until(pilot, lambda: "選んでください" in status(app))
        assert not isinstance(app.screen, ConfirmScreen)


def test_closing_before_the_period_ends_is_warned() -> None:
    assert "まだ終わっていません" in early_close_warning("2026-11", dt.date(2026, 11, 20))
    assert "2026-11-30" in early_close_warning("2026-11", dt.date(2026, 11, 30))
    assert early_close_warning("2026-11", dt.date(2026, 12, 1)) == ""


def test_a_second_download_never_overwrites_the_first(tmp_path: pathlib.Path) -> None:
    first = save_new(tmp_path / "zengin-2026-11-1210.txt", b"first")
    second = save_new(tmp_path / "zengin-2026-11-1210.txt", b"second")
    assert first != second and second.name == "zengin-2026-11-1210-2.txt"
    assert (first.read_bytes(), second.read_bytes()) == (b"first", b"second")


async def test_a_statement_is_saved_as_csv_and_as_excel(month: Demo, tmp_path: pathlib.Path) -> None:
    await sell(month, "yamato-bakery", "sato", 1200)
    month.clock[0] = DEC
    async with month.client("tenri-cci") as chamber:
        await chamber.post("/v1/periods/2026-11/close")
    app = console(month, "tenri-cci", tmp_path / "out")
    async with app.run_test(size=(140, 40)) as pilot:
        await until(pilot, lambda: app.query_one("#claims", DataTable).row_count == 1)
        await pilot.click("#statement")
        await until(pilot, lambda: (tmp_path / "out" / "statement-yamato-bakery-2026-11.xlsx").exists())
        assert ".xlsx" in status(app)
    sheet = openpyxl.load_workbook(tmp_path / "out" / "statement-yamato-bakery-2026-11.xlsx").active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    total = next(row for row in rows if "合計" in row)
    assert rows[0][0] == "期間" and 1200 in total  # a number Excel can sum, not text


async def test_the_drill_down_and_the_periods_say_names_not_codes(
    month: Demo, tmp_path: pathlib.Path
) -> None:
    await sell(month, "yamato-bakery", "sato", 1200)
    month.clock[0] = DEC
    async with month.client("tenri-cci") as chamber:
        await chamber.post("/v1/periods/2026-11/close")
    app = console(month, "tenri-cci", tmp_path)
    async with app.run_test(size=(140, 40)) as pilot:
        lines, periods = app.query_one("#lines", DataTable), app.query_one("#periods", DataTable)
        await until(pilot, lambda: lines.row_count == 1 and periods.row_count == 1)
        assert lines.get_row_at(0)[1] == "ポイント利用" and periods.get_row_at(0)[2] == "締め済み"
