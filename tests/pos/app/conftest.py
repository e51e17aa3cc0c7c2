"""Fixtures for the counter app's Pilot tests: the real server, a journal on disk, the simulated reader."""

from __future__ import annotations

import pathlib
from collections.abc import Callable

import pytest

from points.wire import TerminalMode
from pos import i18n
from pos.app import PosApp
from pos.card.simulated import SimulatedReader
from pos.counter import Counter
from pos.facility import FacilityDesk
from pos.items import ItemList
from pos.journal import Journal
from pos.printing import ReceiptPrinter
from tests.support.counter_server import TERMINALS, CounterServer

SIZE = (100, 34)
CENTRE = "toshima-hiroba-ikebukuro"  # 区民ひろば池袋, the demo's facility


@pytest.fixture
def reader() -> SimulatedReader:
    return SimulatedReader()


@pytest.fixture
def make_app(
    tmp_path: pathlib.Path,
    real_server: CounterServer,
    reader: SimulatedReader,
) -> Callable[..., PosApp]:
    """Build the app as a terminal of ``mode`` (the demo's terminal for it) on a fresh journal;
    receipts go to a file printer so their bytes can be read back."""
    i18n.set_language("ja")

    def build(
        mode: TerminalMode | None = None, printer: str | None = None, items: ItemList | None = None
    ) -> PosApp:
        client = real_server.client(TERMINALS[(mode or TerminalMode.SHOP).value])
        url = printer or f"file://{tmp_path / 'receipts.bin'}"
        counter = Counter(Journal(tmp_path / "journal.db"), client, ReceiptPrinter(url))
        return PosApp(counter, reader, items=items)

    return build


@pytest.fixture
def facility_app(make_app: Callable[..., PosApp], real_server: CounterServer) -> PosApp:
    """The app as :data:`CENTRE`'s entrance desk, talking to the server with the facility's own token."""
    app = make_app()
    app.counter.mode_override = TerminalMode.FACILITY
    app.facility = FacilityDesk(real_server.client(CENTRE))
    return app
