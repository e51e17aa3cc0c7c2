"""Snapshots of each screen in Japanese (pytest-textual-snapshot), one class per feature.

The real server runs on demo data made on a fixed day, its clock and the counter's stopped there, so
the pictures do not change with the calendar.
Update with ``pytest tests/pos/app/test_snapshots.py --snapshot-update`` and look at the SVGs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from points import calendar
from points.wire import TerminalMode
from pos.app import PosApp
from pos.card.simulated import DEMO_UIDS, SimulatedReader
from tests.pos.app.conftest import SIZE
from tests.pos.app.helpers import ready, settle, type_in
from tests.support.counter_server import ALICE, CounterServer

DAY = dt.date(2026, 11, 27)
ALICE_CARD = SimulatedReader.uid_card(DEMO_UIDS[0])


@pytest.fixture
def server_time() -> dt.datetime:
    """Noon in Japan on :data:`DAY`: when the demo data was made and the server's clock."""
    return dt.datetime.combine(DAY, dt.time(3, 0), tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def counter_clock(server_time: dt.datetime, monkeypatch: pytest.MonkeyPatch) -> None:
    """The counter's clock stopped at the server's: reports and receipts print that day and time."""
    monkeypatch.setattr(calendar, "now", lambda: server_time)


@pytest.fixture(autouse=True)
def lots_expiring_soon(real_server: CounterServer) -> None:
    """ALICE holds toshima points that expire in 10 days, so the pictures show an expiring lot."""
    real_server.grant(ALICE, "toshima-points", 800, expires_in_days=10)


def no_cursor_blink(pilot: Pilot[int]) -> None:
    for field in pilot.app.screen.query(Input):
        field.cursor_blink = False


def steps(*actions: Callable[[Pilot[int]], Any]) -> Callable[[Pilot[int]], Any]:
    """Run the steps after the app is ready, then stop the cursor blinking."""

    async def run(pilot: Pilot[int]) -> None:
        await ready(pilot)
        for action in actions:
            result = action(pilot)
            if result is not None:
                await result
            await settle(pilot)
        no_cursor_blink(pilot)

    return run


async def start_sale(pilot: Pilot[int]) -> None:
    await pilot.press("f1")
    await pilot.pause()
    await type_in(pilot, "1100")
    await pilot.press("f2")
    await type_in(pilot, "648*2")


class TestShop:
    def test_home(self, snap_compare: Any, make_app: Callable[..., PosApp]) -> None:
        assert snap_compare(make_app(), terminal_size=SIZE, run_before=steps())

    def test_items(self, snap_compare: Any, make_app: Callable[..., PosApp]) -> None:
        assert snap_compare(make_app(), terminal_size=SIZE, run_before=steps(start_sale))

    def test_payment_with_card(
        self, snap_compare: Any, make_app: Callable[..., PosApp], reader: SimulatedReader
    ) -> None:
        assert snap_compare(
            make_app(), terminal_size=SIZE, run_before=steps(start_sale, lambda p: reader.tap(ALICE_CARD))
        )

    def test_balance(
        self, snap_compare: Any, make_app: Callable[..., PosApp], reader: SimulatedReader
    ) -> None:
        assert snap_compare(
            make_app(), terminal_size=SIZE, run_before=steps(lambda p: reader.tap(ALICE_CARD))
        )

    def test_end_of_day(self, snap_compare: Any, make_app: Callable[..., PosApp]) -> None:
        assert snap_compare(make_app(), terminal_size=SIZE, run_before=steps(lambda p: p.press("f3")))


class TestPin:
    def test_pin_screen(self, snap_compare: Any, make_app: Callable[..., PosApp]) -> None:
        from pos.screens.pin import PinScreen

        assert snap_compare(
            make_app(), terminal_size=SIZE, run_before=steps(lambda p: p.app.push_screen(PinScreen(3, 5000)))
        )


class TestModes:
    def test_award_station(self, snap_compare: Any, make_app: Callable[..., PosApp]) -> None:
        assert snap_compare(make_app(TerminalMode.AWARD), terminal_size=SIZE, run_before=steps())

    def test_ticket_counter(self, snap_compare: Any, make_app: Callable[..., PosApp]) -> None:
        assert snap_compare(make_app(TerminalMode.ISSUE), terminal_size=SIZE, run_before=steps())

    def test_offline_start_without_config(
        self, snap_compare: Any, make_app: Callable[..., PosApp], real_server: CounterServer
    ) -> None:
        real_server.outage()
        assert snap_compare(make_app(), terminal_size=SIZE, run_before=steps())
