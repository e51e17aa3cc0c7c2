"""Snapshots of the screen states of a shop's day that the first set lacks (pytest-textual-snapshot).

The same fixed day and clocks as the other snapshots (:mod:`tests.pos.app.snapshot_day`).
Update with ``pytest tests/pos/app/test_snapshots_day.py --snapshot-update`` and look at the SVGs.
"""

from __future__ import annotations

import itertools
import pathlib
from collections.abc import Callable
from typing import Any

import pytest
from textual.pilot import Pilot
from ulid import ULID

from pos.app import PosApp
from pos.screens.failure import FailureScreen
from tests.pos.app.conftest import SIZE
from tests.pos.app.helpers import fill, settle, type_in
from tests.pos.app.snapshot_day import (  # noqa: F401  (the fixed clocks and lots, by name)
    counter_clock,
    lots_expiring_soon,
    server_time,
    steps,
)
from tests.support.counter_server import CounterServer


@pytest.fixture(autouse=True)
def sale_ids(monkeypatch: pytest.MonkeyPatch) -> None:
    """Sale ids counted from a fixed start, so the receipts in the pictures print the same 取引ID."""
    numbers = itertools.count(1)
    monkeypatch.setattr("pos.counter.new_id", lambda: str(ULID.from_int((0x0193 << 112) + next(numbers))))


async def pay_in_cash(pilot: Pilot[int], amount: str, cash: str) -> None:
    """From home: one amount on the items screen, F10, cash received, Enter."""
    await pilot.press("f1")
    await pilot.pause()
    await type_in(pilot, amount)
    await pilot.press("f10")
    await settle(pilot)
    await type_in(pilot, cash)
    await settle(pilot)  # the sale is sent and printed in a worker


async def to_payment(pilot: Pilot[int], amount: str) -> None:
    await pilot.press("f1")
    await pilot.pause()
    await type_in(pilot, amount)
    await pilot.press("f10")
    await pilot.pause()


class TestPayment:
    def test_short_payment_is_flagged(self, snap_compare: Any, make_app: Callable[..., PosApp]) -> None:
        # ¥500 received on ¥556: 「不足」 in red under the amount due, and the message says by how much.
        assert snap_compare(
            make_app(), terminal_size=SIZE, run_before=steps(lambda p: pay_in_cash(p, "556", "500"))
        )

    def test_change_shown_large(self, snap_compare: Any, make_app: Callable[..., PosApp]) -> None:
        assert snap_compare(
            make_app(), terminal_size=SIZE, run_before=steps(lambda p: pay_in_cash(p, "556", "1000"))
        )

    def test_other_tenders(self, snap_compare: Any, make_app: Callable[..., PosApp]) -> None:
        async def credit_part(pilot: Pilot[int]) -> None:
            await to_payment(pilot, "1100")
            await pilot.press("f4")
            await pilot.pause()
            await type_in(pilot, "600", enter=False)

        assert snap_compare(make_app(), terminal_size=SIZE, run_before=steps(credit_part))


class TestEndOfDay:
    async def _counted(self, pilot: Pilot[int]) -> None:
        await pay_in_cash(pilot, "556", "1000")
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("f3")
        await pilot.pause(0.2)
        await fill(pilot, "#float", "30000")
        for field, pieces in (("#n10000", "3"), ("#n500", "1"), ("#n50", "1")):
            await fill(pilot, field, pieces)

    def test_x_report(self, snap_compare: Any, make_app: Callable[..., PosApp]) -> None:
        async def x(pilot: Pilot[int]) -> None:
            await self._counted(pilot)
            await pilot.press("f5")

        assert snap_compare(make_app(), terminal_size=SIZE, run_before=steps(x))

    def test_z_report(self, snap_compare: Any, make_app: Callable[..., PosApp]) -> None:
        async def z(pilot: Pilot[int]) -> None:
            await self._counted(pilot)
            await pilot.press("f10", "f10")

        assert snap_compare(make_app(), terminal_size=SIZE, run_before=steps(z))

    def test_z_asks_first(self, snap_compare: Any, make_app: Callable[..., PosApp]) -> None:
        """One F10: the drawer count in its grid and the line asking for a second F10 (at 80x24)."""

        async def first_f10(pilot: Pilot[int]) -> None:
            await self._counted(pilot)
            await pilot.press("f10")

        assert snap_compare(make_app(), terminal_size=(80, 24), run_before=steps(first_f10))


class TestTraining:
    def test_training_banner(self, snap_compare: Any, make_app: Callable[..., PosApp]) -> None:
        app = make_app()
        app.counter.start_training()
        assert snap_compare(app, terminal_size=SIZE, run_before=steps(lambda p: to_payment(p, "800")))


class TestFailure:
    def test_failure_screen(
        self, snap_compare: Any, make_app: Callable[..., PosApp], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The send fails unexpectedly: the failure screen says the sale is safe under its number."""
        app = make_app()
        # The log's real path is the test's temporary folder: show a shop's path in the picture.
        monkeypatch.setattr(app, "log_failure", lambda error: "/home/shop/mykey-pos/errors.log")

        def boom(*_args: object) -> None:
            raise RuntimeError("injected failure")

        async def failing_send(pilot: Pilot[int]) -> None:
            monkeypatch.setattr("pos.sync.ServerClient.post_sale", boom)
            await pay_in_cash(pilot, "500", "1000")
            assert isinstance(pilot.app.screen, FailureScreen)
            pilot.app.refresh_status()  # type: ignore[attr-defined]  # the light counts the pending sale now

        assert snap_compare(app, terminal_size=SIZE, run_before=steps(failing_send))


class TestSettings:
    def test_settings(
        self,
        snap_compare: Any,
        make_app: Callable[..., PosApp],
        monkeypatch: pytest.MonkeyPatch,
        tmp_path: pathlib.Path,
        real_server: CounterServer,
    ) -> None:
        """What runs now (server, printer, journal) above the file's values."""
        from pos.screens.settings import SettingsScreen

        running = SettingsScreen.running
        # The test's folder and the proxy's port change every run: a shop's path and port instead.
        monkeypatch.setattr(
            SettingsScreen,
            "running",
            lambda self: (
                running(self)
                .replace(str(tmp_path), "/home/shop/mykey-pos")
                .replace(real_server.proxy.url, "http://192.168.1.10:8000")
            ),
        )
        assert snap_compare(make_app(), terminal_size=SIZE, run_before=steps(lambda p: p.press("f5")))
