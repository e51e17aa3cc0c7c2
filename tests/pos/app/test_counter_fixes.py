"""Issue 11, fixes 2–5 at the counter, each through the real app and the real server."""

from __future__ import annotations

import io
import pathlib
from collections.abc import Callable

from textual.pilot import Pilot

from pos import print_test
from pos import settings as settings_module
from pos.app import PosApp
from pos.card.simulated import DEMO_UIDS, SimulatedReader
from pos.journal import EntryState
from pos.screens.history import HistoryScreen
from pos.screens.receipt import ReceiptScreen
from pos.screens.tender import TenderScreen
from tests.pos.app.conftest import SIZE
from tests.pos.app.helpers import choose_program, fill, ready, settle, text_of, type_in
from tests.support.counter_server import ALICE, CounterServer

ALICE_CARD = SimulatedReader.uid_card(DEMO_UIDS[0])


def only_sale(app: PosApp):  # type: ignore[no-untyped-def]
    (entry,) = [e for e in app.counter.today() if e.kind.value == "sale"]
    return entry


async def ring_up(pilot: Pilot[int], amount: str) -> None:
    await pilot.press("f1")
    await pilot.pause()
    await type_in(pilot, amount)


async def to_cash(pilot: Pilot[int], amount: str) -> None:
    await ring_up(pilot, amount)
    await pilot.press("f10")
    await settle(pilot)


async def cash_sale(pilot: Pilot[int], amount: str, cash: str) -> None:
    await to_cash(pilot, amount)
    await fill(pilot, "#cash", cash)
    await settle(pilot)
    await pilot.press("enter")
    await settle(pilot)


# 2. Short payment flagged; the change large after お預かり Enter ---------------------------


async def test_a_short_payment_is_flagged_on_enter(make_app: Callable[..., PosApp]) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await to_cash(pilot, "556")
        await type_in(pilot, "500")
        await settle(pilot)
        assert isinstance(app.screen, TenderScreen)
        assert "¥56" in text_of(pilot, "#message") and "足りません" in text_of(pilot, "#message")
        assert "不足 ¥56" in text_of(pilot, "#due") and "おつり ¥0" not in text_of(pilot, "#due")
    assert [e for e in app.counter.today() if e.kind.value == "sale"] == []


async def test_the_change_is_shown_large_beside_the_receipt(make_app: Callable[..., PosApp]) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await to_cash(pilot, "556")
        await fill(pilot, "#cash", "1000")
        await settle(pilot)
        assert isinstance(app.screen, ReceiptScreen)
        assert text_of(pilot, "#change") == "おつり ¥444"
        assert app.screen.query_one("#change-digits").value == "444"  # type: ignore[attr-defined]


# 3. Card points offline up to the offline limit; voids offline refused in true words ------


async def test_card_points_can_be_used_offline_up_to_the_programs_offline_limit(
    make_app: Callable[..., PosApp], real_server: CounterServer, reader: SimulatedReader
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        real_server.outage()
        await ring_up(pilot, "1100")
        reader.tap(ALICE_CARD)
        await settle(pilot)
        assert isinstance(app.screen, TenderScreen)
        await choose_program(pilot, "としま")
        await type_in(pilot, "600")
        assert "500" in text_of(pilot, "#message")  # toshima's offline limit
        await fill(pilot, "#points", "500")
        await fill(pilot, "#cash", "600")
        await settle(pilot)
        assert isinstance(app.screen, ReceiptScreen)
        assert only_sale(app).state is EntryState.OFFLINE
        real_server.outage(False)
        await app.sync_now()
    assert only_sale(app).state is EntryState.SYNCED
    assert [(p.program_id, p.points) for p in only_sale(app).sale_request.points] == [("toshima-points", 500)]


async def test_a_void_offline_says_that_nothing_was_voided(
    make_app: Callable[..., PosApp], real_server: CounterServer
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await cash_sale(pilot, "800", "1000")
        real_server.outage()
        await pilot.press("f2")
        await settle(pilot)
        await pilot.press("v", "v")
        await settle(pilot)
        assert isinstance(app.screen, HistoryScreen)
        message = text_of(pilot, "#message")
        assert "取り消していません" in message and "オフラインで続けます" not in message
    assert only_sale(app).voided_at is None and real_server.sales()[only_sale(app).id] == "accepted"


# 4. History refreshed after a void and a sync; a voided sale's reprint says 取消済 -----------


async def test_history_after_a_void_and_the_reprint_of_a_voided_sale(
    make_app: Callable[..., PosApp], real_server: CounterServer, reader: SimulatedReader
) -> None:
    real_server.grant(ALICE, "toshima-points", 800, expires_in_days=10)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await ring_up(pilot, "1100")
        reader.tap(ALICE_CARD)
        await settle(pilot)
        await choose_program(pilot, "としま")
        await type_in(pilot, "800")
        await fill(pilot, "#cash", "500")
        await settle(pilot)
        at_sale = real_server.balance(ALICE, "toshima-points")
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("f2")
        await settle(pilot)
        await pilot.press("v", "v")
        await settle(pilot)
        await pilot.press("escape")  # the void receipt
        await settle(pilot)
        assert isinstance(app.screen, HistoryScreen)
        assert "もう一度 V" not in text_of(pilot, "#message")  # no stale confirmation
        assert "取消済" in str(app.screen.query_one("#history").get_row_at(0))  # type: ignore[attr-defined]
        await pilot.press("r")
        await settle(pilot)
        preview = text_of(pilot, "#receipt")
        assert "取消済" in preview and "再発行" in preview
        assert f"{at_sale:,}" in preview  # the balance at the sale, not today's
        assert real_server.balance(ALICE, "toshima-points") != at_sale


async def test_history_shows_the_sync_of_an_offline_sale(
    make_app: Callable[..., PosApp], real_server: CounterServer
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        real_server.outage()
        await cash_sale(pilot, "800", "1000")
        await pilot.press("f2")
        await settle(pilot)
        table = app.screen.query_one("#history")
        assert "オフライン" in str(table.get_row_at(0))  # type: ignore[attr-defined]
        real_server.outage(False)
        await app.sync_now()
        await settle(pilot)
        assert "送信済" in str(table.get_row_at(0))  # type: ignore[attr-defined]


# 5. The payment screen lists the programs in the order F2 cycles, soonest-expiring first --


async def test_programs_are_listed_and_cycled_soonest_expiring_first(
    make_app: Callable[..., PosApp], real_server: CounterServer, reader: SimulatedReader
) -> None:
    real_server.grant(ALICE, "toshima-points", 100, expires_in_days=5)
    real_server.grant(ALICE, "tenri-megumi", 100, expires_in_days=20)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await ring_up(pilot, "1100")
        reader.tap(ALICE_CARD)
        await settle(pilot)
        rows = text_of(pilot, "#card").splitlines()
        assert rows[0].startswith("▶ としま") and "としま" in text_of(pilot, "#program")
        await pilot.press("f2")
        await pilot.pause()
        rows = text_of(pilot, "#card").splitlines()
        assert rows[1].startswith("▶ ") and rows[1][2:].split(":")[0] in text_of(pilot, "#program")


# 6. Settings show what is running; F10 never writes an empty token file silently ----------


async def test_settings_show_what_is_running_and_keep_the_token_file_when_the_token_is_empty(
    make_app: Callable[..., PosApp], tmp_path: pathlib.Path
) -> None:
    (tmp_path / "token").write_text("kept\n")
    app = make_app(printer=f"file://{tmp_path / 'running.bin'}")
    app.settings = settings_module.Settings(path=tmp_path / "config.toml", printer="tcp://192.0.2.1:9100")
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("f5")
        await settle(pilot)
        running = text_of(pilot, "#running")
        assert "running.bin" in running and app.counter.client.base_url in running
        await pilot.press("f10")
        await settle(pilot)
        assert "トークンが空" in text_of(pilot, "#message")
    assert (tmp_path / "token").read_text() == "kept\n"


# 7. print-test takes --language like the app (--lang still works) --------------------------


def test_print_test_takes_language_like_the_app() -> None:
    out = io.StringIO()
    assert print_test.main(["--printer", "none", "--language", "en"], out) == 0
    assert "Test receipt" in out.getvalue()
    out = io.StringIO()
    assert print_test.main(["--printer", "none", "--lang", "en"], out) == 0
    assert "Test receipt" in out.getvalue()
    assert "--lang " not in print_test_help()


def print_test_help() -> str:
    import argparse

    parser = argparse.ArgumentParser()
    print_test._add_options(parser)
    return parser.format_help()
