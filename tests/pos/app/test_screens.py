"""The smaller screens: balance slip, end-of-day report, settings."""

from __future__ import annotations

import pathlib
import re
from collections.abc import Callable

from pos import settings as settings_module
from pos.app import PosApp
from pos.card.simulated import DEMO_UIDS, SimulatedReader
from pos.screens.receipt import ReceiptScreen
from pos.screens.settings import SettingsScreen
from printers import decode
from tests.pos.app.conftest import SIZE
from tests.pos.app.helpers import fill, ready, settle, text_of
from tests.support.counter_server import ALICE, SHOP, CounterServer


async def test_balance_slip_is_printed_on_request(
    make_app: Callable[..., PosApp], reader: SimulatedReader, tmp_path: pathlib.Path
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        reader.tap(SimulatedReader.uid_card(DEMO_UIDS[0]))
        await settle(pilot)
        assert "5,000 pt" in text_of(pilot, "#balances")
        await pilot.press("f5")
        await settle(pilot)
        assert "残高票を印刷しました" in text_of(pilot, "#message")
    paper = "\n".join(decode((tmp_path / "receipts.bin").read_bytes()))
    assert "残高" in paper and "5,000 pt" in paper
    # The resident account's number, to quote at the city desk (ABCD-EFGH).
    assert re.search(r"アカウント番号 +[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}", paper), paper


async def test_end_of_day_prints_the_days_figures(
    make_app: Callable[..., PosApp], real_server: CounterServer, tmp_path: pathlib.Path
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("f1")
        await fill(pilot, "#amount", "1500")
        await pilot.press("f10")
        await settle(pilot)
        await fill(pilot, "#cash", "2000")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("f3")
        await settle(pilot)
        figures = text_of(pilot, "#figures")
        assert "点検(X)" in figures and "売上 1件" in figures and "¥1,500" in figures
        await pilot.press("f5")
        await settle(pilot)
        assert isinstance(app.screen, ReceiptScreen)
        assert "点検(X)" in text_of(pilot, "#receipt")


async def test_settings_are_saved_to_the_toml_file_with_a_private_token(
    make_app: Callable[..., PosApp], tmp_path: pathlib.Path
) -> None:
    app = make_app()
    app.settings = settings_module.Settings(path=tmp_path / "config.toml")
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("f5")
        await settle(pilot)
        assert isinstance(app.screen, SettingsScreen)
        await fill(pilot, "#setting-printer", "tcp://192.0.2.10:9100")
        await fill(pilot, "#setting-token", "t0ken")
        await fill(pilot, "#setting-paper_width", "33")
        await pilot.press("f10")
        await settle(pilot)
        assert "確認してください" in text_of(pilot, "#message")
        await fill(pilot, "#setting-paper_width", "32")
        await pilot.press("f10")
        await settle(pilot)
        assert "保存しました" in text_of(pilot, "#message")
    saved = settings_module.load(tmp_path / "config.toml")
    assert saved.printer == "tcp://192.0.2.10:9100" and saved.paper_width == 32 and saved.token == "t0ken"


async def test_statement_is_fetched_shown_and_printed(
    make_app: Callable[..., PosApp], real_server: CounterServer
) -> None:
    real_server.sell_elsewhere(2000, card_key=ALICE, points=1500, terminal=SHOP)
    period = real_server.close_period()
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("f4")
        await settle(pilot)
        await fill(pilot, "#period", "2026-13")
        await settle(pilot)
        message = text_of(pilot, "#message")
        # A month 13 is refused where it is typed: it never reaches the server.
        assert "期間は年-月で入れてください" in message
        await fill(pilot, "#period", period)
        await settle(pilot)
        assert "¥1,500" in text_of(pilot, "#statement")  # the points this shop redeemed in the period
        await pilot.press("f5")
        await settle(pilot)
        assert isinstance(app.screen, ReceiptScreen)
        assert "1,500" in text_of(pilot, "#receipt")
