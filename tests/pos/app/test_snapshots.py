"""Snapshots of each screen in Japanese (pytest-textual-snapshot), one class per feature.

The day and the clocks are :mod:`tests.pos.app.snapshot_day`'s, so the pictures do not change with
the calendar.
Update with ``pytest tests/pos/app/test_snapshots.py --snapshot-update`` and look at the SVGs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.pilot import Pilot

from points.wire import TerminalMode
from pos.app import PosApp
from pos.card.simulated import DEMO_UIDS, SimulatedReader
from tests.pos.app.conftest import SIZE
from tests.pos.app.helpers import type_in
from tests.pos.app.snapshot_day import (  # noqa: F401  (the fixed day's fixtures, by name)
    counter_clock,
    lots_expiring_soon,
    server_time,
    steps,
)
from tests.support.counter_server import CounterServer

ALICE_CARD = SimulatedReader.uid_card(DEMO_UIDS[0])


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
