"""The award station, the ticket counter and the enrol desk, through the app and the real server."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from points import calendar, tickets
from points.wire import Lot, TerminalMode
from pos.app import PosApp
from pos.card.simulated import DEMO_PIN, DEMO_UIDS, SimulatedReader, demo_credentials, demo_jpki_card
from pos.journal import EntryState
from pos.screens.award import AwardScreen
from pos.screens.enroll import EnrollScreen
from pos.screens.issue import IssueScreen
from pos.screens.merge import MergeScreen
from pos.screens.pin import PinScreen
from pos.screens.receipt import ReceiptScreen
from pos.screens.renew import RenewScreen
from pos.sync import ServerRefused
from pos.virtualcard.applet import JpkiCard
from tests.pos.app.conftest import SIZE
from tests.pos.app.helpers import fill, ready, settle, text_of, type_in
from tests.support.counter_server import ALICE, BOB, CAROL, MERCHANT, CounterServer

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
    try:
        refused(ALICE)
    except ServerRefused as error:
        assert error.error.code == "card_blocked"
        assert "このカードは利用停止中です。市役所の窓口へ" in error.message("ja")
    else:
        raise AssertionError("a blocked card was looked up")


def refusal_of(real_server: CounterServer, card_key: str) -> str:
    """The code a shop's look-up of the card is refused with."""
    try:
        real_server.client().lookup(card_key)
    except ServerRefused as error:
        return error.error.code
    raise AssertionError("the card was looked up")


async def tap_with_pin(pilot, reader: SimulatedReader, card: object) -> None:  # type: ignore[no-untyped-def]
    """Put a My Number Card on the desk's reader; the resident types its PIN on the PIN screen."""
    reader.tap(card)  # type: ignore[arg-type]
    await settle(pilot)
    assert isinstance(pilot.app.screen, PinScreen)
    await type_in(pilot, DEMO_PIN)
    await settle(pilot)


async def test_the_desk_renews_a_my_number_card_and_the_balance_stays(
    make_app: Callable[..., PosApp], real_server: CounterServer, reader: SimulatedReader
) -> None:
    before = real_server.balances(CAROL)
    renewed = demo_credentials().issue_card()  # the same card with its new certificate (new key)
    app = make_app(TerminalMode.ENROLL)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        keys = {key: active.binding.description for key, active in app.screen.active_bindings.items()}
        assert keys["f2"] == "カードの引継ぎ" and keys["f3"] == "カードの統合"  # in the key bar
        await pilot.press("f2")
        await settle(pilot)
        assert isinstance(app.screen, RenewScreen)
        assert "古いカードをタッチ" in text_of(pilot, "#step")
        await tap_with_pin(pilot, reader, demo_jpki_card())
        assert "古いカード: アカウント番号" in text_of(pilot, "#old")
        assert "新しいカードをタッチ" in text_of(pilot, "#step")
        await tap_with_pin(pilot, reader, JpkiCard(renewed, pin=DEMO_PIN))
        assert "F10" in text_of(pilot, "#step")
        await pilot.press("f10")
        await settle(pilot)
        assert "引継ぎました。残高はそのままです" in text_of(pilot, "#result")
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, EnrollScreen)
    assert real_server.balances(renewed.card_key) == before
    assert refusal_of(real_server, CAROL) == "card_replaced"


async def test_a_lost_card_blocked_then_replaced_by_the_account_number_spends_the_old_points(
    make_app: Callable[..., PosApp], real_server: CounterServer, reader: SimulatedReader
) -> None:
    before = real_server.balance(ALICE, "tenri-megumi")
    assert before >= 1000
    replacement = SimulatedReader.uid_card("04C0FFEE123456")
    app = make_app(TerminalMode.ENROLL)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        reader.tap(ALICE_CARD)  # the number is on the resident's balance slip; here read off the card
        await settle(pilot)
        number = text_of(pilot, "#account").split()[-1]
        reader.remove()
        await fill(pilot, "#number", number)
        await fill(pilot, "#reason", "紛失届・本人確認済み")
        await pilot.press("f9")
        await settle(pilot)
        assert "利用停止にしました" in text_of(pilot, "#message")
        await pilot.press("f2")
        await settle(pilot)
        await fill(pilot, "#number", number.lower())  # as the resident reads it out
        await settle(pilot)
        assert "紛失カード: アカウント番号 " + number in text_of(pilot, "#old")
        reader.tap(replacement)
        await settle(pilot)
        await pilot.press("f10")
        await settle(pilot)
        assert "引継ぎました。残高はそのままです" in text_of(pilot, "#result")
    assert refusal_of(real_server, ALICE) == "card_blocked"
    new_key = real_server.query(
        "SELECT card_key FROM card_keys WHERE account_number = ? AND blocked_at IS NULL",
        number.replace("-", ""),
    )
    assert len(new_key) == 1
    (key,) = new_key[0]
    real_server.sell_elsewhere(1000, card_key=str(key), points=1000)  # a shop takes the old points
    assert real_server.balance(str(key), "tenri-megumi") == before - 1000


async def test_the_desk_merges_a_point_card_into_a_my_number_card_with_the_expiry_dates(
    make_app: Callable[..., PosApp], real_server: CounterServer, reader: SimulatedReader
) -> None:
    real_server.grant(BOB, "tenri-megumi", 700, expires_in_days=10)
    point_card, my_number = real_server.balances(BOB), real_server.balances(CAROL)
    app = make_app(TerminalMode.ENROLL)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("f3")
        await settle(pilot)
        assert isinstance(app.screen, MergeScreen)
        reader.tap(SimulatedReader.uid_card(DEMO_UIDS[1]))
        await settle(pilot)
        assert "ポイントカード: アカウント番号" in text_of(pilot, "#source")
        await tap_with_pin(pilot, reader, demo_jpki_card())
        assert "マイナンバーカード: アカウント番号" in text_of(pilot, "#target")
        await pilot.press("f10")
        await settle(pilot)
        result = text_of(pilot, "#result")
        assert "統合しました" in result
        assert f"{point_card['tenri-megumi']:,} pt" in result
    merged = real_server.balances(CAROL)
    assert merged == {p: point_card.get(p, 0) + my_number.get(p, 0) for p in {*point_card, *my_number}}
    assert real_server.balances(BOB) == merged  # the point card now spends the same account
    (megumi,) = [b for b in real_server.client().lookup(CAROL).balances if b.program_id == "tenri-megumi"]
    soon = calendar.business_date(real_server.clock()) + dt.timedelta(days=10)
    assert any(lot == Lot(points=700, expires_on=soon) for lot in megumi.expiring), megumi.expiring


async def test_the_desk_says_why_when_the_new_card_has_points_of_its_own(
    make_app: Callable[..., PosApp], real_server: CounterServer, reader: SimulatedReader
) -> None:
    app = make_app(TerminalMode.ENROLL)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("f2")
        await settle(pilot)
        reader.tap(ALICE_CARD)
        await settle(pilot)
        reader.tap(SimulatedReader.uid_card(DEMO_UIDS[1]))  # BOB's card: an account of its own
        await settle(pilot)
        await pilot.press("f10")
        await settle(pilot)
        said = text_of(pilot, "#message")
        assert "このカードはすでに別のアカウントにつながっています。統合してください" in said
        assert text_of(pilot, "#result") == ""
    assert real_server.balances(ALICE) and real_server.balances(BOB)  # nothing moved, both still work
