"""Pilot helpers for the console tests: wait for workers, wait for a condition."""

from __future__ import annotations

import time
from collections.abc import Callable


async def settle(pilot: object) -> None:
    app = pilot.app  # type: ignore[attr-defined]
    await app.workers.wait_for_complete()
    await pilot.pause()  # type: ignore[attr-defined]


async def until(pilot: object, check: Callable[[], bool], seconds: float = 15.0) -> None:
    """Wait until ``check()`` holds: handlers await the server, so a click returns before they finish."""
    deadline = time.monotonic() + seconds
    while True:
        await settle(pilot)
        if check() or time.monotonic() > deadline:
            break
        await pilot.pause(0.05)  # type: ignore[attr-defined]
    assert check()
