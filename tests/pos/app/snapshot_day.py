"""The fixed day the counter's snapshot tests are taken on, and the steps run before each picture.

The real server runs on demo data made on :data:`DAY`, its clock and the counter's stopped there, so
the pictures do not change with the calendar. A snapshot module imports the fixtures it wants by
name (pytest finds them in the module): ``server_time`` and ``counter_clock`` for the day,
``lots_expiring_soon`` where the pictures show an expiring lot.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from points import calendar
from tests.pos.app.helpers import ready, settle
from tests.support.counter_server import ALICE, CounterServer

DAY = dt.date(2026, 11, 27)


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
    """Stop every input's cursor blinking, so a picture does not catch it half-way."""
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
