"""Training mode (練習モード) at every kind of terminal: nothing reaches the server (Pilot, real server).

Each test starts the app (its config is fetched: the one request training mode makes), then counts
the bytes the fault proxy forwards to the server and reads the server's database: both must stay
as they were while the clerk practises.
"""

from __future__ import annotations

from collections.abc import Callable

from textual.pilot import Pilot

from points.wire import TerminalMode
from pos.app import PosApp
from pos.card.simulated import DEMO_UIDS, SimulatedReader
from pos.journal import EntryState
from pos.screens.award import AwardScreen
from pos.screens.enroll import EnrollScreen
from pos.screens.history import HistoryScreen
from pos.screens.issue import IssueScreen
from tests.pos.app.conftest import SIZE
from tests.pos.app.helpers import fill, ready, settle, text_of, type_in
from tests.support.counter_server import ALICE, MERCHANT, CounterServer

ALICE_CARD = SimulatedReader.uid_card(DEMO_UIDS[0])


def sent(server: CounterServer) -> int:
    """Bytes the counter has sent the server so far (through the fault proxy)."""
    return server.proxy.counts["bytes_up"]


async def started(pilot: Pilot[int]) -> None:
    await ready(pilot)
    await settle(pilot)
    assert "練習モード" in text_of(pilot, "#training-banner")


async def test_the_award_station_awards_nothing_on_the_server(
    make_app: Callable[..., PosApp], real_server: CounterServer, reader: SimulatedReader
) -> None:
    app = make_app(TerminalMode.AWARD)
    app.counter.start_training()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        assert isinstance(app.screen, AwardScreen)
        before = sent(real_server)
        reader.tap(ALICE_CARD)
        await settle(pilot)
        assert "練習" in text_of(pilot, "#result") and "200 pt" in text_of(pilot, "#result")
        reader.remove()
        await app.sync_now()  # F9 or the background sync: still nothing to send
        await settle(pilot)
        assert sent(real_server) == before
    assert real_server.query("SELECT COUNT(*) FROM event_awards") == [(0,)]
    assert real_server.balance(ALICE, "toshima-points") == 1200
    assert [e.state for e in app.counter.today()] == [EntryState.OFFLINE]  # the training journal's


async def test_the_ticket_counter_issues_no_tickets(
    make_app: Callable[..., PosApp], real_server: CounterServer
) -> None:
    tickets_before = real_server.query("SELECT COUNT(*) FROM tickets")
    app = make_app(TerminalMode.ISSUE)
    app.counter.start_training()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        assert isinstance(app.screen, IssueScreen)
        before = sent(real_server)
        await fill(pilot, "#issue-shop", MERCHANT)
        await fill(pilot, "#issue-receipt", "R-0001")
        await fill(pilot, "#issue-amount", "12345")
        await pilot.press("f10")
        await settle(pilot)
        assert isinstance(app.screen, IssueScreen)
        assert "練習モード" in text_of(pilot, "#message")
        assert sent(real_server) == before
    assert real_server.query("SELECT COUNT(*) FROM tickets") == tickets_before
    assert real_server.query("SELECT COUNT(*) FROM ticket_issues") == [(0,)]


async def test_the_enrol_desk_sets_no_tags(
    make_app: Callable[..., PosApp], real_server: CounterServer, reader: SimulatedReader
) -> None:
    app = make_app(TerminalMode.ENROLL)
    app.counter.start_training()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        assert isinstance(app.screen, EnrollScreen)
        reader.tap(ALICE_CARD)
        await settle(pilot)
        before = sent(real_server)
        await pilot.press("f10")
        await settle(pilot)
        assert "練習モード" in text_of(pilot, "#message")
        assert sent(real_server) == before
    assert real_server.tags(ALICE) == []


async def test_a_practice_sale_is_voided_in_the_training_journal_only(
    make_app: Callable[..., PosApp], real_server: CounterServer
) -> None:
    app = make_app()
    app.counter.start_training()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        before = sent(real_server)
        await pilot.press("f1")
        await pilot.pause()
        await type_in(pilot, "800")
        await pilot.press("f10")
        await settle(pilot)
        await fill(pilot, "#cash", "1000")
        await settle(pilot)
        await pilot.press("escape")
        await pilot.pause()
        assert text_of(pilot, "#pending") == ""  # a practice sale never waits to be synced
        await pilot.press("f2")
        await settle(pilot)
        assert isinstance(app.screen, HistoryScreen)
        await pilot.press("v")
        await pilot.pause()
        await pilot.press("v")
        await settle(pilot)
        assert sent(real_server) == before
    (entry,) = app.counter.today()
    assert entry.voided_at is not None
    assert real_server.sales() == {}
