"""A desk's morning at 大牟田市立図書館 on the library screen (Textual Pilot), against the SIP2 system.

Hanako taps her My Number Card, borrows three books and brings one back; a patron whose card was
reported lost is refused, and nothing is sent to the library for them.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from textual.app import App
from textual.pilot import Pilot
from textual.widgets import Input, Static

from pos import i18n
from pos.card.apdu import CardKind
from pos.card.base import CardIdentity
from pos.library.desk import LibraryDesk
from pos.screens.base import CardRead
from pos.screens.library import LibraryScreen
from printers import LendingSlip, decode, render
from tests.library.conftest import HANAKO_CARD
from tests.support.sip2_library import Sip2Library

LOST_CARD = "jpki:" + "c" * 64


class DeskApp(App[None]):
    """Just the library screen, handed its desk and a printer that keeps the slips."""

    def __init__(self, desk: LibraryDesk) -> None:
        super().__init__()
        self.desk = desk
        self.slips: list[LendingSlip] = []

    def on_mount(self) -> None:
        counter: Any = SimpleNamespace(config=None, training=False)
        self.push_screen(LibraryScreen(counter, self.desk, self.slips.append))


async def settle(pilot: Pilot[None]) -> LibraryScreen:
    screen = pilot.app.screen
    assert isinstance(screen, LibraryScreen)
    await pilot.pause()
    while screen.calls_running:
        await pilot.pause(0.02)
    await pilot.pause()
    return screen


async def tap(pilot: Pilot[None], card_key: str) -> LibraryScreen:
    screen = await settle(pilot)
    screen.post_message(CardRead(CardIdentity(card_key, CardKind.MY_NUMBER, b"\x3b"), "sim"))
    await pilot.pause()
    return await settle(pilot)


async def scan(pilot: Pilot[None], barcode: str) -> None:
    field = pilot.app.screen.query_one("#barcode", Input)
    field.focus()
    field.value = barcode
    await pilot.press("enter")
    await settle(pilot)


def shown(pilot: Pilot[None], selector: str) -> str:
    return str(pilot.app.screen.query_one(selector, Static).render())


async def test_a_desks_morning(omuta_desk: LibraryDesk, sip2_library: Sip2Library) -> None:
    i18n.set_language("ja")
    omuta_desk.memberships.link(LOST_CARD, "OMUTA", "1100000003")  # type: ignore[attr-defined]
    app = DeskApp(omuta_desk)
    async with app.run_test(size=(100, 34)) as pilot:
        await tap(pilot, HANAKO_CARD)
        assert "有明 花子" in shown(pilot, "#patron")
        assert "貸出できます" in shown(pilot, "#reasons")

        for barcode in ("1190000001", "1190000002", "1190000004"):
            await scan(pilot, barcode)
        await pilot.press("f10")
        await settle(pilot)
        assert "3冊を貸出しました" in shown(pilot, "#message")
        assert "坊っちゃん" in shown(pilot, "#scanned")
        [slip] = app.slips
        printed = "\n".join(decode(render(slip)))
        assert "貸出票" in printed and "走れメロス" in printed and "有明" not in printed

        await pilot.press("f4")
        await scan(pilot, "1190000002")
        assert "返却しました: 吾輩は猫である" in shown(pilot, "#message")
        assert sorted(sip2_library.libraries["OMUTA"].charged("1100000001")) == ["1190000001", "1190000004"]

        await pilot.press("f4")
        await tap(pilot, LOST_CARD)
        assert "紛失" in shown(pilot, "#reasons")
        sent = len(sip2_library.requests)
        await scan(pilot, "1190000005")
        await pilot.press("f10")
        await settle(pilot)
        assert "1190000005" not in sip2_library.libraries["OMUTA"].loans
        assert "11" not in sip2_library.requests[sent:]  # no checkout was even asked for
        assert len(app.slips) == 1


async def test_a_card_not_registered_here_and_a_library_that_is_down(
    omuta_desk: LibraryDesk, sip2_library: Sip2Library
) -> None:
    i18n.set_language("ja")
    async with DeskApp(omuta_desk).run_test(size=(100, 34)) as pilot:
        await tap(pilot, "jpki:" + "d" * 64)
        assert "この図書館に登録されていません" in shown(pilot, "#message")
        sip2_library.stop()
        await tap(pilot, HANAKO_CARD)
        assert "図書館システムに接続できません" in shown(pilot, "#message")
        assert "カードをタッチしてください" in shown(pilot, "#patron")


async def test_a_first_visit_by_the_library_cards_number_and_a_return_with_a_hold(
    omuta_desk: LibraryDesk, sip2_library: Sip2Library
) -> None:
    i18n.set_language("ja")
    sip2_library.libraries["OMUTA"].loans["1190000012"] = (
        "1100000006",
        sip2_library.libraries["OMUTA"].loans["1190000011"][1],
    )
    async with DeskApp(omuta_desk).run_test(size=(100, 34)) as pilot:
        await settle(pilot)
        await pilot.press("f2")
        await scan(pilot, "1100000002")  # typed off the resident's old library card
        assert "三池 太郎" in shown(pilot, "#patron") and "貸出できます" in shown(pilot, "#reasons")
        await pilot.press("f4")
        await scan(pilot, "1190000012")  # a book 三池 太郎 is waiting for
        assert "返却しました: たけくらべ" in shown(pilot, "#message") and "予約" in shown(pilot, "#message")
