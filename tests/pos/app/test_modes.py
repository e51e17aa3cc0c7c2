"""The award station, the ticket counter and the enrol desk, through the app and the real server."""

from __future__ import annotations

from collections.abc import Callable

from points import tickets
from points.wire import TerminalMode
from pos.app import PosApp
from pos.card.simulated import DEMO_UIDS, SimulatedReader
from pos.journal import EntryState
from pos.screens.award import AwardScreen
from pos.screens.enroll import EnrollScreen
from pos.screens.issue import IssueScreen
from pos.screens.receipt import ReceiptScreen
from tests.pos.app.conftest import SIZE
from tests.pos.app.helpers import fill, ready, settle, text_of
from tests.support.counter_server import ALICE, MERCHANT, CounterServer

ALICE_CARD = SimulatedReader.uid_card(DEMO_UIDS[0])


async def test_award_station_awards_once_per_card_per_event(
    make_app: Callable[..., PosApp], real_server: CounterServer, reader: SimulatedReader
) -> None:
    app = make_app(TerminalMode.AWARD)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        assert isinstance(app.screen, AwardScreen)
        assert "池袋clean-up ボランティア" in text_of(pilot, "#event")
        reader.tap(ALICE_CARD)
        await settle(pilot)
        assert "200 pt を付与しました" in text_of(pilot, "#result")
        reader.remove()
        reader.tap(ALICE_CARD)
        await settle(pilot)
        assert "付与済み" in text_of(pilot, "#result")
    assert real_server.balance(ALICE, "toshima-points") == 1200 + 200  # volunteer: 200 pt, once
    states = [e.state for e in app.counter.today()]
    assert states == [EntryState.ACCEPTED, EntryState.REFUSED]


async def test_award_station_offline_queues_and_syncs(
    make_app: Callable[..., PosApp], real_server: CounterServer, reader: SimulatedReader
) -> None:
    app = make_app(TerminalMode.AWARD)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        real_server.outage()
        reader.tap(ALICE_CARD)
        await settle(pilot)
        assert "オフライン" in text_of(pilot, "#result")
        real_server.outage(False)
        await app.sync_now()
    assert [e.state for e in app.counter.today()] == [EntryState.SYNCED]
    assert real_server.balance(ALICE, "toshima-points") == 1400


async def test_ticket_counter_issues_tickets_by_the_tenri_rule_and_prints_them(
    make_app: Callable[..., PosApp], real_server: CounterServer
) -> None:
    app = make_app(TerminalMode.ISSUE)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        assert isinstance(app.screen, IssueScreen)
        await fill(pilot, "#issue-shop", MERCHANT)
        await fill(pilot, "#issue-receipt", "R-0001")
        await fill(pilot, "#issue-amount", "12345")
        assert "1,200 pt" in text_of(pilot, "#receipts")  # 10 % in 100-yen units
        await pilot.press("f10")
        await settle(pilot)
        assert isinstance(app.screen, ReceiptScreen)
        preview = text_of(pilot, "#receipt")
    issued = real_server.query("SELECT serial, value FROM tickets ORDER BY serial")
    assert sorted((value for _serial, value in issued), reverse=True) == [1000, 100, 100]  # few tickets
    assert all(tickets.format_human_serial(int(serial)) in preview for serial, _value in issued)


async def test_enrol_desk_sets_the_tags_the_clerk_checked(
    make_app: Callable[..., PosApp], real_server: CounterServer, reader: SimulatedReader
) -> None:
    app = make_app(TerminalMode.ENROLL)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        assert isinstance(app.screen, EnrollScreen)
        reader.tap(ALICE_CARD)
        await settle(pilot)
        await pilot.press("f10")
        await settle(pilot)
        assert "age65" in text_of(pilot, "#current")
    assert real_server.tags(ALICE) == ["age65"]


async def test_the_desk_blocks_a_lost_card_by_the_account_number_and_a_shop_then_refuses_it(
    make_app: Callable[..., PosApp], real_server: CounterServer, reader: SimulatedReader
) -> None:
    app = make_app(TerminalMode.ENROLL)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        reader.tap(ALICE_CARD)
        await settle(pilot)
        shown = text_of(pilot, "#account")
        assert "アカウント番号" in shown
        number = shown.split()[-1]
        await fill(pilot, "#number", number)
        await fill(pilot, "#reason", "紛失届・本人確認済み")
        await pilot.press("f9")
        await settle(pilot)
        assert "利用停止にしました" in text_of(pilot, "#message")
    refused = real_server.client().lookup
    from pos.sync import ServerRefused

    try:
        refused(ALICE)
    except ServerRefused as error:
        assert error.error.code == "card_blocked"
        assert "このカードは利用停止中です。市役所の窓口へ" in error.message("ja")
    else:
        raise AssertionError("a blocked card was looked up")
