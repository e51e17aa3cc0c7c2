"""Library desk figure: a tap to the patron's standing on the library screen, SIP2 on loopback.

- ``library_tap_to_status_ms``: from the card read (CardRead posted to the library screen) until
  the screen shows the patron's standing: the membership lookup, patron status (23/24) and patron
  information (63/64) over a logged-in SIP2 connection to the emulator on 127.0.0.1, and the redraw.
  Median of 50 taps. Target: under 150 ms.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from types import SimpleNamespace
from typing import Any

from _figures import record
from textual.app import App
from textual.widgets import Static

from pos import i18n
from pos.card.apdu import CardKind
from pos.card.base import CardIdentity
from pos.library.desk import InMemoryMemberships, LibraryDesk
from pos.library.sip2 import Sip2Client
from pos.screens.base import CardRead
from pos.screens.library import LibraryScreen
from tests.support.sip2_ariake import six_ariake
from tests.support.sip2_library import Sip2Library

CARD = CardIdentity("jpki:" + "a" * 64, CardKind.MY_NUMBER, b"\x3b")
TAPS = 50


class DeskApp(App[None]):
    def __init__(self, desk: LibraryDesk) -> None:
        super().__init__()
        self.desk = desk

    def on_mount(self) -> None:
        counter: Any = SimpleNamespace(config=None, training=False)
        self.push_screen(LibraryScreen(counter, self.desk, lambda slip: None))


async def measure(desk: LibraryDesk) -> list[float]:
    times = []
    async with DeskApp(desk).run_test(size=(100, 34)) as pilot:
        await pilot.pause()
        screen = pilot.app.screen
        assert isinstance(screen, LibraryScreen)
        patron = screen.query_one("#patron", Static)
        for _ in range(TAPS + 1):
            screen.standing = None
            start = time.perf_counter()
            screen.post_message(CardRead(CARD, "sim"))
            while screen.standing is None or screen.calls_running:
                await asyncio.sleep(0.0005)
            await pilot.pause()  # the redraw
            times.append((time.perf_counter() - start) * 1000)
            assert "有明 花子" in str(patron.render())
    return times[1:]  # the first tap also logs in


def main() -> None:
    i18n.set_language("ja")
    with Sip2Library(six_ariake()) as library:
        memberships = InMemoryMemberships()
        memberships.link(CARD.card_key, "OMUTA", "1100000001")
        with Sip2Client(library.system("OMUTA")) as client:
            times = asyncio.run(measure(LibraryDesk(client, memberships)))
    record("library_tap_to_status_ms", round(statistics.median(times), 2), f"median of {TAPS}; target < 150")


if __name__ == "__main__":
    main()
