"""English mode on every screen of a shop's day: no Japanese word the counter itself says.

What is printed (the receipt and report previews) is the paper's, and the shop's and programs'
names are theirs; everything else on screen and in the key bar is the counter's, in English.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from textual.pilot import Pilot

from pos import i18n
from pos.app import PosApp
from pos.card.simulated import DEMO_UIDS, SimulatedReader
from pos.screens.balance import BalanceScreen
from pos.screens.end_of_day import EndOfDayScreen
from pos.screens.failure import FailureScreen
from pos.screens.history import HistoryScreen
from pos.screens.receipt import ReceiptScreen
from pos.screens.settings import SettingsScreen
from tests.pos.app.conftest import SIZE
from tests.pos.app.helpers import fill, ready, settle, type_in
from tests.pos.app.test_english_mode import JAPANESE, screen_text
from tests.support.counter_server import CounterServer

#: Statics that show printed paper (receipt, X/Z figures): Japanese by the receipt's rules.
PAPER = ("receipt", "figures")
ALICE_CARD = SimulatedReader.uid_card(DEMO_UIDS[0])


def words(app: PosApp) -> str:
    """The screen's own words (what :func:`screen_text` collects, less the printed previews)."""
    paper = [str(w.content) for w in app.screen.query("Static") if w.id in PAPER]
    text = screen_text(app)
    for printed in paper:
        text = text.replace(printed, "")
    return text


def assert_english(app: PosApp, where: str) -> None:
    seen = words(app)
    assert not JAPANESE.search(seen), f"{where}: {seen}"


@pytest.fixture
def english() -> object:
    i18n.set_language("en")
    yield
    i18n.set_language("ja")


async def cash_sale(pilot: Pilot[int], amount: str, cash: str) -> None:
    await pilot.press("f1")
    await pilot.pause()
    await type_in(pilot, amount)
    await pilot.press("f10")
    await settle(pilot)
    await fill(pilot, "#cash", cash)
    await settle(pilot)


async def test_a_day_in_english(
    make_app: Callable[..., PosApp], real_server: CounterServer, reader: SimulatedReader, english: object
) -> None:
    app = make_app()
    i18n.set_language("en")
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        assert_english(app, "home")
        reader.tap(ALICE_CARD)
        await settle(pilot)
        assert isinstance(app.screen, BalanceScreen)
        assert_english(app, "balance")
        reader.remove()
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("f1")
        await pilot.pause()
        await type_in(pilot, "556")
        assert_english(app, "items")
        await pilot.press("f10")
        await settle(pilot)
        reader.tap(ALICE_CARD)
        await settle(pilot)
        assert_english(app, "payment with a card")
        await pilot.press("f4")
        await pilot.pause()
        assert_english(app, "payment, other tenders")
        await fill(pilot, "#cash", "1000")
        await settle(pilot)
        assert isinstance(app.screen, ReceiptScreen)
        assert_english(app, "receipt and change")
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("f2")
        await settle(pilot)
        assert isinstance(app.screen, HistoryScreen)
        assert_english(app, "history")
        await pilot.press("v")
        await pilot.pause()
        assert_english(app, "history, void confirmation")
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("f3")
        await settle(pilot)
        assert isinstance(app.screen, EndOfDayScreen)
        assert_english(app, "end of day")
        await pilot.press("f10")
        await settle(pilot)
        assert_english(app, "Z confirmation")
        await pilot.press("f10")
        await settle(pilot)
        assert_english(app, "Z report")
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("f10")
        await settle(pilot)
        assert_english(app, "second Z")
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("f5")
        await settle(pilot)
        assert isinstance(app.screen, SettingsScreen)
        assert_english(app, "settings")


async def test_server_refusals_and_failures_in_english(
    make_app: Callable[..., PosApp],
    real_server: CounterServer,
    english: object,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = make_app()
    i18n.set_language("en")
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        # A void of a sale the server never had: its refusal is worded by the counter, in English.
        await cash_sale(pilot, "300", "500")
        await pilot.press("escape")
        await pilot.pause()

        def boom(*_args: object) -> None:
            raise RuntimeError("injected failure")

        monkeypatch.setattr("pos.sync.ServerClient.post_sale", boom)
        await cash_sale(pilot, "200", "500")
        assert isinstance(app.screen, FailureScreen)
        assert_english(app, "failure screen")
