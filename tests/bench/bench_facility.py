"""Facility desk figure: a tap to the member's entry on the facility screen, through the real server.

- ``facility_tap_to_entry_ms``: from the card read (CardRead posted to the facility screen) until
  the screen shows the member number and the day's count: ``POST /v1/visits`` with the facility's
  token to ``mykey-server serve`` (the demo data, SQLite, a subprocess on 127.0.0.1; the entry is a
  durable write, counted once a day) and the redraw. Median of 50 taps by the same member.
"""

from __future__ import annotations

import asyncio
import json
import pathlib
import statistics
import tempfile
import time
from types import SimpleNamespace
from typing import Any

from _figures import record
from textual.app import App

from pos import demo, i18n
from pos.card.apdu import CardKind
from pos.card.base import CardIdentity
from pos.facility import FacilityDesk
from pos.screens.base import CardRead
from pos.screens.facility import FacilityScreen
from pos.sync import ServerClient
from pos.virtualcard.credentials import CardCredentials

TAPS = 50


class DeskApp(App[None]):
    def __init__(self, desk: FacilityDesk) -> None:
        super().__init__()
        self.desk = desk

    def on_mount(self) -> None:
        counter: Any = SimpleNamespace(config=None, training=False)
        self.push_screen(FacilityScreen(counter, self.desk))


async def measure(desk: FacilityDesk, card: CardIdentity) -> list[float]:
    times = []
    async with DeskApp(desk).run_test(size=(100, 34)) as pilot:
        await pilot.pause()
        screen = pilot.app.screen
        assert isinstance(screen, FacilityScreen)
        while screen.calls_running:
            await pilot.pause(0.01)
        for _ in range(TAPS + 1):
            screen.entry = None
            start = time.perf_counter()
            screen.post_message(CardRead(card, "sim"))
            while screen.entry is None or screen.calls_running:
                await asyncio.sleep(0.0005)
            await pilot.pause()  # the redraw
            times.append((time.perf_counter() - start) * 1000)
            assert screen.entry.number == "H0000123"
    return times[1:]  # the first tap also opens the connection


def main() -> None:
    i18n.set_language("ja")
    with tempfile.TemporaryDirectory(prefix="bench-facility-") as folder:
        work = pathlib.Path(folder)
        credentials = CardCredentials.load_or_create(work / "card")
        with demo.server(work / "server", credentials.card_key, work / "card" / "ca.pem") as (url, tokens):
            cards = json.loads((work / "server" / "cards.json").read_text())
            card = CardIdentity(cards["sato"]["card_key"], CardKind.ISO14443_UID, b"\x3b")
            client = ServerClient(url, tokens[demo.FACILITY])
            times = asyncio.run(measure(FacilityDesk(client), card))
            client.close()
    record("facility_tap_to_entry_ms", round(statistics.median(times), 2), f"median of {TAPS}")


if __name__ == "__main__":
    main()
