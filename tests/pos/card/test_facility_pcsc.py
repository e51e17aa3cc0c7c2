"""The facility desk with a real reader: the virtual My Number Card on pcscd + vpcd, the real server.

The demo My Number Card (its CA trusted by the server) is not a member of 区民ひろば池袋 yet: tapped
on the counter's PC/SC reader, the desk offers the first visit, the facility card's number links it,
and the next tap the same day is counted once.
"""

from __future__ import annotations

import pathlib
from collections.abc import Callable

import pytest
from textual.pilot import Pilot

from points.wire import TerminalMode
from pos import i18n
from pos.app import PosApp
from pos.card.pcsc import PcscReader
from pos.card.simulated import demo_credentials
from pos.counter import Counter
from pos.facility import FacilityDesk
from pos.journal import Journal
from pos.printing import ReceiptPrinter
from pos.screens.facility import FacilityScreen
from pos.virtualcard.applet import JpkiCard
from pos.virtualcard.vcard import VirtualCard
from tests.pos.app.helpers import fill, ready, settle, text_of
from tests.support.counter_server import CAROL, TERMINALS, CounterServer

pytestmark = pytest.mark.pcscd

CENTRE = "toshima-hiroba-ikebukuro"


async def until(pilot: Pilot[int], selector: str, words: str, timeout_s: float = 5.0) -> str:
    """Wait (pcscd sees a card within 400 ms) until ``selector`` shows ``words``; returns its text."""
    for _ in range(int(timeout_s / 0.05)):
        await settle(pilot, rounds=1)
        if words in (shown := text_of(pilot, selector)):
            return shown
    raise AssertionError(f"{selector} never showed {words!r}: {text_of(pilot, selector)!r}")


async def test_the_virtual_my_number_card_is_linked_on_its_first_visit_and_counted_once_a_day(
    empty_readers: None,
    vcards: Callable[..., VirtualCard],
    real_server: CounterServer,
    tmp_path: pathlib.Path,
) -> None:
    i18n.set_language("ja")
    client = real_server.client(TERMINALS["award"])
    counter = Counter(Journal(tmp_path / "journal.db"), client, ReceiptPrinter("none"))
    counter.mode_override = TerminalMode.FACILITY
    app = PosApp(counter, PcscReader(poll_s=0.2, retry_s=0.05))
    app.facility = FacilityDesk(real_server.client(CENTRE))
    card = vcards(JpkiCard(demo_credentials(), pin="1234"))
    async with app.run_test(size=(100, 34)) as pilot:
        await ready(pilot)
        assert isinstance(app.screen, FacilityScreen)
        await until(pilot, "#facility", "区民ひろば池袋")
        card.insert()
        await until(pilot, "#message", "まだこの施設に登録されていません")
        await fill(pilot, "#number", "H0000789")
        assert "H0000789" in await until(pilot, "#member", "H0000789")
        assert "入館を記録しました" in text_of(pilot, "#message")
        card.remove()
        await settle(pilot)
        await pilot.pause(0.5)  # pcscd sees the reader empty before the next tap
        card.insert()
        await until(pilot, "#message", "本日はすでに入館")
        assert "本日の入館 1人" in text_of(pilot, "#today")
        card.remove()
    answer = real_server.client(CENTRE).membership_lookup(CAROL)
    assert answer.membership is not None and answer.membership.number == "H0000789"
