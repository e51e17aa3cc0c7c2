"""A snapshot of the return screen (返品) with a sale found and half of it about to go back.

Kept beside ``test_snapshots.py`` (same fixed day and clocks). Update with ``pytest
tests/pos/app/test_return_snapshot.py --snapshot-update`` and look at the SVG.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.pilot import Pilot

from pos.app import PosApp
from tests.pos.app.conftest import SIZE
from tests.pos.app.helpers import fill, type_in
from tests.pos.app.snapshot_day import counter_clock, server_time, steps  # noqa: F401  (fixtures)


async def cash_sale(pilot: Pilot[int]) -> None:
    await pilot.press("f1")
    await pilot.pause()
    await type_in(pilot, "1100")
    await pilot.press("f10")
    await pilot.pause()


async def find_and_type_half(pilot: Pilot[int]) -> None:
    await pilot.press("f2")
    await pilot.pause()
    await pilot.press("b")
    await pilot.pause()
    await fill(pilot, "#find", "1")
    sale = pilot.app.screen.sale  # type: ignore[attr-defined]
    rate = int(sale.request["totals"][0]["rate"])
    await fill(pilot, f"#amount{rate}", "550")


class TestReturns:
    def test_return_screen(self, snap_compare: Any, make_app: Callable[..., PosApp]) -> None:
        assert snap_compare(
            make_app(),
            terminal_size=SIZE,
            run_before=steps(
                cash_sale,
                lambda p: fill(p, "#cash", "2000"),
                lambda p: p.press("escape"),
                find_and_type_half,
            ),
        )
